import { routeAttemptOfItem } from '../events/site-events.ts';
import { hostname } from 'node:os';
import { DecodeError } from '../errors.ts';
import { makeEvent, type StoredEvent } from '../events/agent-events.ts';
import { eventIds } from '../events/ids.ts';
import { eventSubjects } from '../events/subjects.ts';
import type { ExecuteTask } from '../events/work-commands.ts';
import { killOrphanGroup } from '../exec/run-command.ts';
import { undoChanges } from '../workspace/undo.ts';
import { append, type ActorIO, type Runtime } from '../actors/actor.ts';
import type { Ended, ExecutorPorts } from '../actors/executor/ports.ts';
import { notStarted, type ResumePoint } from '../actors/executor/state.ts';
import { runTaskMachine } from '../actors/executor/run-task.ts';
import { taskActivities } from './executor-activities.ts';
import { executeInView, supersededBy } from './executor-view.ts';
import { openExecuting, type Executing } from './executor-resources.ts';
import { commitTask, TaskFileRecords } from './task-files.ts';

/** The executor's ports: the host runs its machine on activities that do the I/O and records their results. */
export const executorPorts: ExecutorPorts<Executing> = {
  open: openExecuting,
  close: (resources) => resources.close(),
  hostName: () => hostname(),
  recordedRun: (resources, runId) => resources.runs.get(runId),
  executionSoFar,
  lastRoute: async (rt, runId, taskId) => {
    // One that cannot be read or decoded is passed over: the checks at the item's take and at its merge stand.
    const last = (type: 'TaskRouted' | 'TaskAttemptLost') =>
      rt.store.lastEvent(eventSubjects.of(runId, taskId, type)).catch(() => undefined);
    const [route, loss] = await Promise.all([last('TaskRouted'), last('TaskAttemptLost')]);
    return { ...(route ? { route } : {}), ...(loss ? { loss } : {}) };
  },
  killOrphans: (pgids) => {
    for (const pgid of pgids) killOrphanGroup(pgid);
  },
  place: async (resources, item, run) =>
    resources.copies ? resources.copies.place(item, run.snapshot, run.startSeq) : { item },
  execute: (io, item, recorded, resume, startOver) =>
    io.rt.config.execution.isolation !== 'shared'
      ? executeInView(io, item, recorded, resume, () => executeInFolder(io, item, recorded, resume), startOver)
      : executeInFolder(io, item, recorded, resume),
  finish: async (io, outcome, ended) => {
    const [recordedAs] = await io.perform([append(outcome)]);
    await ended.after?.();
    return { ...outcome, seq: recordedAs!.seq };
  },
};

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
  const activities = taskActivities(io, item, { before: (p) => tree.content(p), round: 0 }, (fix) =>
    files.record(io.resources.trees.checkpoint(runId, taskId), fix),
  );
  // A task that cannot finish here (its machine threw) is no longer running in the tree either.
  const result = await runTaskMachine(activities, item, rt.config.recovery.maxAttemptsPerTask, resume).catch(
    (error: unknown) => {
      io.resources.trees.leave(runId, taskId);
      throw error;
    },
  );
  // Recovery outcomes first: the log tells a task's story in order.
  await io.flushed();
  // Stored while the commit is made; recorded before the outcome, so a run's log ends with its RunFinished.
  const recordedAtEnd = files.record(io.resources.trees.leave(runId, taskId));
  if (!result.ok && rt.config.execution.onFailure === 'rollback' && files.changes().length > 0) {
    await recordedAtEnd;
    const undone = await undoChanges(tree, files.changes(), files.alongside());
    const n = recorded.filter((e) => e.type === 'TaskRolledBack').length;
    const id = eventIds.taskRecord(runId, taskId, 'TaskRolledBack', n, item.route?.attempt);
    const data = { ...undone, ...routeAttemptOfItem(item) };
    await io.perform([append(makeEvent('TaskRolledBack', { runId, taskId, id }, data))]);
  }
  // A task completed unverified is not success: nothing of it is committed as done; nor is an attempt since superseded.
  const commit =
    result.ok && result.evidence !== 'none' && item.commit && !(await supersededBy(rt.store, item))
      ? await commitTask(
          io,
          item,
          files.changedPaths().filter((p) => !dirty.has(p)),
        )
      : undefined;
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
