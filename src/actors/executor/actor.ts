import type { StoredEvent } from '../../events/agent-events.ts';
import { RUN_OPTIONS } from '../../events/run-option-table.ts';
import { ExecuteTaskSchema, type ExecuteTask } from '../../events/work-commands.ts';
import { append, workInputs, type ActorDefinition, type ActorIO, type Runtime } from '../actor.ts';
import { refusal, refusedOutcome, type RecordedRun } from './decide.ts';
import type { ExecutorPorts, Placed } from './ports.ts';
import { taskOutcome } from './records.ts';
import { attemptView, leftBeforeStart, leftBehind, recordedLost } from '../../projections/attempts.ts';
import { rerunPoint, resumePoint } from './state.ts';

/** `afterTaskOutcome` is awaited once a task's outcome is recorded (the benchmark's reference workflow writes its memory there). */
export type ExecutorActorOptions = { afterTaskOutcome?: (rt: Runtime, outcome: StoredEvent) => Promise<void> };

/**
 * Tasks one process holds at once: as many as a run may run at once. Each run's coordinator
 * sends no more than its own `--task-concurrency` (the run's option, as RunStarted records it).
 */
const TASKS_IN_HAND = RUN_OPTIONS.taskConcurrency.value.max;

/** The executor: takes `execute` work items, runs each task's command graph, records its outcome. */
export const executorActor = <R>(ports: ExecutorPorts<R>, options: ExecutorActorOptions = {}): ActorDefinition<R> => ({
  name: 'executor',
  open: (rt) => ports.open(rt),
  close: (resources) => ports.close(resources),
  inputs: workInputs({
    actor: 'executor',
    schema: ExecuteTaskSchema,
    parallel: () => TASKS_IN_HAND,
    run: (item) => item,
    // Its history, its run and its place are read at once, while the host checks it is not stale.
    observe: async (item, rt, resources) => {
      const [recorded, where] = await Promise.all([
        ports.executionSoFar(rt, item.runId, item.taskId),
        placement(ports, resources, item),
      ]);
      return { recorded, ...where };
    },
    handle: async (item, io: ActorIO<R>, { recorded, run, refused, placed }) => {
      if (refused !== undefined) {
        io.rt.log.warn(`execute item for task ${item.taskId} of run ${item.runId} refused: ${refused}`);
        const failed = refusedOutcome(item, run, recorded, refused);
        return failed.length ? [append(...failed)] : [];
      }
      if ('refused' in placed) return [append(placed.refused)];
      await executeTask(ports, io, placed.item, recorded, options.afterTaskOutcome);
      return [];
    },
  }),
});

type Placement =
  | { run: RecordedRun | undefined; refused: string; placed?: undefined }
  | { run: RecordedRun; refused?: undefined; placed: Placed };

/**
 * Nothing runs on the word of a work item alone: its run, folder and task are the log's. At a
 * site, the task runs in the site's copy of the run's project, not at the submitter's path: the
 * copy is made ready here, before the item is known to be current, which costs an item left
 * after at most a catch-up of the copy (the change sets of tasks completed, which it needs anyway).
 */
async function placement<R>(ports: ExecutorPorts<R>, resources: R, item: ExecuteTask): Promise<Placement> {
  const run = await ports.recordedRun(resources, item.runId);
  const refused = refusal(item, run);
  if (refused !== undefined) return { run, refused };
  // Refused above when the log has no such run.
  return { run: run!, placed: await ports.place(resources, item, run!) };
}

async function executeTask<R>(
  ports: ExecutorPorts<R>,
  io: ActorIO<R>,
  item: ExecuteTask,
  recorded: StoredEvent[],
  afterTaskOutcome?: ExecutorActorOptions['afterTaskOutcome'],
): Promise<void> {
  const { runId, taskId } = item;
  const started = performance.now();
  // The log decides where this execution starts: a task with an outcome is never run again, an
  // item of a route attempt since superseded is left, a task whose executor died resumes after its
  // recorded results, and one lost with its site starts again from its base (a fresh view) in
  // the attempt routed after the loss, not in the lost one.
  const attempts = attemptView(recorded);
  const left = attempts.outcome
    ? 'it already has an outcome'
    : (leftBehind(item.route, attempts) ?? recordedLost(item.route, recorded.slice(attempts.since)));
  if (left) {
    io.rt.log.info(`task ${taskId} of run ${runId}: not running it (${left})`);
    return;
  }
  const gone = await leftSinceTaken(ports, io.rt, item);
  if (gone) {
    io.rt.log.info(`task ${taskId} of run ${runId}: not starting it (${gone})`);
    return;
  }
  // Lost with its site, or reopened by `resume` (its view discarded): from its first command again.
  const restarted = item.route !== undefined || attempts.reopened !== undefined;
  const startOver = restarted && !recorded.slice(attempts.since).some(isCommandRecord);
  const resume =
    recorded.length === 0 ? undefined : startOver ? rerunPoint(recorded) : resumePoint(recorded, ports.hostName());
  ports.killOrphans(resume?.orphans ?? []);
  const ended = await ports.execute(io, item, recorded, resume, startOver);
  const outcome = taskOutcome(item, ended.result, performance.now() - started, ended.commit);
  const stored = await ports.finish(io, outcome, ended);
  await afterTaskOutcome?.(io.rt, stored);
}

/**
 * Why a site's item must be left just before its first command: its copy was readied since its
 * records were read (a second or more), time for its attempt to be recorded lost or superseded.
 * An item of the shared queue has no route to lose: nothing is read for it.
 */
async function leftSinceTaken<R>(ports: ExecutorPorts<R>, rt: Runtime, item: ExecuteTask) {
  if (!item.route) return undefined;
  const now = await ports.lastRoute(rt, item.runId, item.taskId);
  return leftBeforeStart(item.route, now.route, now.loss);
}

/** A record of a command having run: the current attempt has begun when it has one since its route. */
const isCommandRecord = (e: StoredEvent) => e.type === 'CommandStarted' || e.type === 'CommandFinished';
