import { hostname } from 'node:os';
import { DecodeError } from '../../errors.ts';
import { isTaskTerminal, makeEvent, type StoredEvent } from '../../events/agent-events.ts';
import { eventIds } from '../../events/ids.ts';
import { DirtyPaths } from '../../workspace/git.ts';
import { RunTrees } from '../../workspace/run-trees.ts';
import { SiteCopies } from '../../workspace/site-copies.ts';
import { undoChanges } from '../../workspace/undo.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { ExecuteTaskSchema, type ExecuteTask } from '../../events/work-commands.ts';
import { killOrphanGroup } from '../../exec/run-command.ts';
import { resolveConfinement, type Confinement } from '../../exec/sandbox.ts';
import { append, workInputs, type ActorDefinition, type ActorIO, type Runtime } from '../actor.ts';
import { RecordedRuns, refusal, refusedOutcome } from './admission.ts';
import { TaskFileRecords } from './file-records.ts';
import { executorEffects, type Executing } from './task-io.ts';
import { taskOutcome } from './records.ts';
import { notStarted, resumePoint, type ResumePoint } from './resume.ts';
import { executeInView, type Ended } from './in-view.ts';
import { commitTask, runTaskMachine } from './run-task.ts';

/** `afterTaskOutcome` is awaited once a task's outcome is recorded (the benchmark's reference workflow writes its memory there). */
export type ExecutorActorOptions = { afterTaskOutcome?: (rt: Runtime, outcome: StoredEvent) => Promise<void> };

/** The executor: takes `execute` work items, runs each task's command graph, records its outcome. */
export const executorActor = (options: ExecutorActorOptions = {}): ActorDefinition<Executing> => ({
  name: 'executor',
  open: async (rt) => {
    // Probed now, in the background, so that the first command does not wait for it; a failure
    // (bwrap required and missing) surfaces where a command needs it.
    const confinement: Promise<Confinement> = resolveConfinement(
      rt.config,
      (m) => rt.log.warn(m),
      (m) => rt.log.info(m),
    );
    confinement.catch(() => undefined);
    const site = rt.config.site;
    return {
      ...(site ? { copies: new SiteCopies(site.name, rt.config.stateDir, rt.store, rt.contents) } : {}),
      confinement: () => confinement,
      trees: new RunTrees(rt.config.changes),
      runs: new RecordedRuns(rt.store),
      dirty: new DirtyPaths(),
    };
  },
  inputs: workInputs({
    actor: 'executor',
    schema: ExecuteTaskSchema,
    parallel: (rt) => rt.config.execution.taskConcurrency,
    run: (item) => item,
    observe: (item, rt) => executionSoFar(rt, item.runId, item.taskId),
    handle: async (item, io: ActorIO<Executing>, recorded) => {
      // Nothing runs on the word of a work item alone: its run, folder and task are the log's.
      const run = await io.resources.runs.get(item.runId);
      const refused = refusal(item, run);
      if (refused) {
        io.rt.log.warn(`execute item for task ${item.taskId} of run ${item.runId} refused: ${refused}`);
        const failed = refusedOutcome(item, run, recorded, refused);
        return failed.length ? [append(...failed)] : [];
      }
      // At a site, the task runs in the site's copy of the run's project, not at the submitter's path.
      const placed = io.resources.copies ? await io.resources.copies.place(item, run?.snapshot) : { item };
      if ('refused' in placed) return [append(placed.refused)];
      await executeTask(io, placed.item, recorded, options.afterTaskOutcome);
      return [];
    },
  }),
});

async function executeTask(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  recorded: StoredEvent[],
  afterTaskOutcome?: ExecutorActorOptions['afterTaskOutcome'],
): Promise<void> {
  const { rt } = io;
  const { runId, taskId } = item;
  const started = performance.now();
  // The log decides where this execution starts: a task with an outcome is never run again, and
  // one whose executor died resumes after its recorded results.
  if (recorded.some(isTaskTerminal)) {
    rt.log.info(`task ${taskId} of run ${runId}: not running it (it already has an outcome)`);
    return;
  }
  const resume = recorded.length > 0 ? resumePoint(recorded, hostname()) : undefined;
  for (const pgid of resume?.orphans ?? []) killOrphanGroup(pgid);
  const ended =
    rt.config.execution.isolation === 'view'
      ? await executeInView(io, item, recorded, resume, () => executeInFolder(io, item, recorded, resume))
      : await executeInFolder(io, item, recorded, resume);
  const outcome = taskOutcome(item, ended.result, performance.now() - started, ended.commit);
  const [recordedAs] = await io.perform([append(outcome)]);
  await ended.after?.();
  await afterTaskOutcome?.(rt, { ...outcome, seq: recordedAs!.seq });
}

/**
 * `execution.isolation: "shared"` (or no overlay here): the task runs in the working directory
 * itself; its changes are what changed there while it ran (src/workspace/run-trees.ts), a
 * failure's undone unless another task was running alongside.
 */
async function executeInFolder(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  recorded: StoredEvent[],
  resume: ResumePoint | undefined,
): Promise<Ended> {
  const { rt } = io;
  const { runId, taskId } = item;
  const { tree, dirty } = await io.resources.trees.enter(item, rt.config.stateDir);
  const files = new TaskFileRecords(io, item, recorded);
  // After each recovery fix, what the task changed so far is recorded: a fix's writes are seen as its own.
  const effects = executorEffects(io, item, { before: (p) => tree.content(p), round: 0 }, (fix) =>
    files.record(io.resources.trees.checkpoint(runId, taskId), fix),
  );
  // A task that cannot finish here (its machine threw) is no longer running in the tree either.
  const result = await runTaskMachine(io, item, effects, resume).catch((error: unknown) => {
    io.resources.trees.leave(runId, taskId);
    throw error;
  });
  // Recovery outcomes first: the log tells a task's story in order.
  await io.flushed();
  // Stored while the commit is made; recorded before the outcome, so a run's log ends with its RunFinished.
  const recordedAtEnd = files.record(io.resources.trees.leave(runId, taskId));
  let commit: string | undefined;
  if (!result.ok && rt.config.execution.onFailure === 'rollback' && files.changes().length > 0) {
    await recordedAtEnd;
    const undone = await undoChanges(tree, files.changes(), files.alongside());
    const n = recorded.filter((e) => e.type === 'TaskRolledBack').length;
    await io.perform([
      append(
        makeEvent(
          'TaskRolledBack',
          { runId, taskId, id: eventIds.taskRecord(runId, taskId, 'TaskRolledBack', n) },
          undone,
        ),
      ),
    ]);
  }
  // A task completed unverified is not success: nothing of it is committed as done.
  if (result.ok && result.evidence !== 'none' && item.commit)
    commit = await commitTask(
      io,
      item,
      files.changedPaths().filter((p) => !dirty.has(p)),
    );
  await recordedAtEnd;
  return { result, commit };
}

/**
 * What the log holds of this task's execution: nothing, in the usual case, known from its last
 * event in one request; all of its events (read one by one) when something ran before.
 */
async function executionSoFar(rt: Runtime, runId: string, taskId: string): Promise<StoredEvent[]> {
  const subject = eventSubjects.task(runId, taskId);
  const last = await rt.store.lastEvent(subject).then(
    (e) => ({ e }),
    (error: unknown) => {
      if (error instanceof DecodeError) return undefined;
      throw error;
    },
  );
  if (last && notStarted(last.e)) return [];
  return rt.store.read({ subject });
}
