import { hostname } from 'node:os';
import { createActor, fromPromise, toPromise } from 'xstate';
import { DecodeError } from '../../errors.ts';
import { isTaskTerminal, makeEvent, type StoredEvent } from '../../events/agent-events.ts';
import { eventIds } from '../../events/ids.ts';
import { retryTransient } from '../../nats/transient.ts';
import { commitMessage } from '../../workspace/commit-message.ts';
import { commitPaths } from '../../workspace/git.ts';
import { RunTrees, type TaskCapture } from '../../workspace/run-trees.ts';
import { taskChanges, type TaskChanges } from '../../workspace/task-changes.ts';
import { undoChanges } from '../../workspace/undo.ts';
import { eventSubjects } from '../../events/subjects.ts';
import { ExecuteTaskSchema, type ExecuteTask } from '../../events/work-commands.ts';
import { buildCommandGraph } from '../../exec/command-graph.ts';
import { killOrphanGroup } from '../../exec/run-command.ts';
import { resolveConfinement, type Confinement } from '../../exec/sandbox.ts';
import type { ActorOptions } from '../actor-options.ts';
import { append, workInputs, type ActorDefinition, type ActorIO } from '../actor.ts';
import { runActor } from '../run-actor.ts';
import type { Runtime } from '../runtime.ts';
import { executorEffects, type Executing } from './task-io.ts';
import { taskOutcome } from './records.ts';
import { executorMachine } from './machine.ts';
import { notStarted, resumePoint } from './resume.ts';

export type ExecutorActorOptions = { parallelTasks?: number; afterTaskOutcome?: ActorOptions['afterTaskOutcome'] };

/** The executor: takes `execute` work items, runs each task's command graph, records its outcome. */
export const executorActor = (options: ExecutorActorOptions = {}): ActorDefinition<Executing> => ({
  name: 'executor',
  open: async (rt) => {
    // Probed now, in the background, so that the first command does not wait for it; a failure
    // (bwrap required and missing) surfaces where a command needs it.
    const confinement: Promise<Confinement> = resolveConfinement(rt.config, (m) => rt.log.warn(m));
    confinement.catch(() => undefined);
    return { confinement: () => confinement, trees: new RunTrees(rt.config.changes) };
  },
  inputs: workInputs({
    actor: 'executor',
    schema: ExecuteTaskSchema,
    parallel: (rt) => options.parallelTasks ?? rt.config.execution.taskConcurrency,
    run: (item) => item,
    observe: (item, rt) => executionSoFar(rt, item.runId, item.taskId),
    handle: async (item, io: ActorIO<Executing>, recorded) => {
      await executeTask(io, item, recorded, options.afterTaskOutcome);
      return [];
    },
  }),
});

export const startExecutor = (rt: Runtime, options: ExecutorActorOptions = {}) => runActor(rt, executorActor(options));

async function executeTask(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  recorded: StoredEvent[],
  afterTaskOutcome?: ActorOptions['afterTaskOutcome'],
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
  const graph = buildCommandGraph(item.plan.commands);
  const { tree, dirty } = await io.resources.trees.enter(item, rt.config.stateDir);
  const effects = executorEffects(io, item, tree);
  const actor = createActor(
    executorMachine.provide({
      actors: {
        runCommand: fromPromise(({ input }) => effects.runCommand(input)),
        evaluateDecision: fromPromise(({ input }) => effects.evaluateDecision(input)),
        recover: fromPromise(({ input }) => effects.recover(input)),
        runFix: fromPromise(({ input }) => effects.runFix(input)),
        verify: fromPromise(({ input }) => effects.verify(input)),
      },
      actions: { recordRecovery: (_, record) => effects.recordRecovery(record) },
    }),
    {
      input: {
        plan: item.plan,
        deps: graph.deps,
        commandConcurrency: item.commandConcurrency,
        maxRecoveryAttempts: rt.config.recovery.maxAttemptsPerTask,
        ...(resume ? { resume } : {}),
      },
    },
  );
  actor.start();
  // A task that cannot finish here (its machine threw) is no longer running in the tree either.
  const result = await toPromise(actor).catch((error: unknown) => {
    io.resources.trees.leave(runId, taskId);
    throw error;
  });
  // Recovery outcomes first: the log tells a task's story in order.
  await io.flushed();
  const captured = io.resources.trees.leave(runId, taskId);
  // Stored while the commit is made; recorded before the outcome, so a run's log ends with its RunFinished.
  const changes = recordChanges(io, item, captured, recorded);
  let commit: string | undefined;
  if (!result.ok && rt.config.execution.onFailure === 'rollback' && captured.changes.length > 0) {
    await changes.recorded;
    const undone = await undoChanges(tree, captured.changes, captured.alongside);
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
  if (result.ok && item.commit)
    commit = await commitTask(
      io,
      item,
      changes.paths.filter((p) => !dirty.has(p)),
    );
  await changes.recorded;
  const outcome = taskOutcome(item, result, performance.now() - started, commit);
  const [recordedAs] = await io.perform([append(outcome)]);
  await afterTaskOutcome?.(rt, { ...outcome, seq: recordedAs!.seq });
}

/**
 * Records what the task changed (TaskFilesChanged), its contents stored first so that the record
 * never names a content the store does not hold; the changed paths are known at once.
 */
function recordChanges(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  captured: TaskCapture,
  recorded: StoredEvent[],
): { paths: string[]; recorded: Promise<void> } {
  if (captured.changes.length === 0 && captured.ignored.length === 0) return { paths: [], recorded: Promise.resolve() };
  const record = taskChanges(captured.changes, io.rt.config.changes.maxTaskBytes);
  return { paths: record.files.map((f) => f.path), recorded: storeAndRecord(io, item, captured, record, recorded) };
}

async function storeAndRecord(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  captured: TaskCapture,
  record: TaskChanges,
  recorded: StoredEvent[],
): Promise<void> {
  const { rt } = io;
  try {
    await Promise.all([...record.contents].map(([hash, bytes]) => retryTransient(() => rt.contents.put(hash, bytes))));
  } catch (error) {
    const reason = `the content store failed: ${(error as Error).message}`;
    rt.log.warn(`task ${item.taskId}: its changes are recorded without their contents (${reason})`);
    for (const f of record.files) if (f.stored) record.skipped.push({ path: f.path, reason });
    for (const f of record.files) f.stored = false;
  }
  const n = recorded.filter((e) => e.type === 'TaskFilesChanged').length;
  const event = makeEvent(
    'TaskFilesChanged',
    { runId: item.runId, taskId: item.taskId, id: eventIds.taskRecord(item.runId, item.taskId, 'TaskFilesChanged', n) },
    {
      files: record.files,
      ignored: captured.ignored,
      skipped: record.skipped,
      alongside: captured.alongside,
    },
  );
  await io.perform([append(event)]);
}

/** The task's files in one commit (`--commit`); a failure to commit is said and leaves the task completed. */
async function commitTask(io: ActorIO<Executing>, item: ExecuteTask, paths: string[]): Promise<string | undefined> {
  try {
    return await commitPaths(item.workdir, paths, commitMessage(item));
  } catch (error) {
    io.rt.log.warn(`task ${item.taskId}: not committed: ${(error as Error).message}`);
    return undefined;
  }
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
