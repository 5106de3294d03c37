import { routeAttemptOfItem } from '../events/site-events.ts';
import { existsSync } from 'node:fs';
import { MergeError } from '../errors.ts';
import { join } from 'node:path';
import { makeEvent, type StoredEvent } from '../events/agent-events.ts';
import { eventIds } from '../events/ids.ts';
import { eventSubjects } from '../events/subjects.ts';
import type { ExecuteTask } from '../events/work-commands.ts';
import { viewsDir } from '../exec/sandbox.ts';
import type { EventLog } from '../events/event-log.ts';
import { attemptView, leftBehind } from '../projections/attempts.ts';
import type { Conflict } from '../workspace/merge.ts';
import type { MergeStep } from '../workspace/view-changes.ts';
import { append, type ActorIO } from '../actors/actor.ts';
import type { Ended } from '../actors/executor/ports.ts';
import { rerunPoint, type ResumePoint } from '../actors/executor/state.ts';
import { runTaskMachine } from '../actors/executor/run-task.ts';
import type { ExecutorOutput } from '../actors/executor/types.ts';
import { taskActivities } from './executor-activities.ts';
import type { Executing } from './executor-resources.ts';
import { commitTask, TaskFileRecords } from './task-files.ts';
import { contentNow, openViewSpace, type ViewSpace } from './task-view.ts';

/** Runs of a task after its first merge met a conflict (`execution.onConflict: "retry"`). */
const CONFLICT_RETRIES = 2;

const warned = new Set<string>();
const SHARED_FALLBACK = 'tasks run in the shared folder, not in views of their own';
const COPY_FALLBACK = 'tasks run in copies of the folder, not in views of their own';
/** What a copy costs and shares (docs/isolation.md#fallbacks): said with the reason. */
const COPY_LOSS =
  'each task copies the tree and walks its copy for its changes, and writes into node_modules, .venv and __pycache__ land in the folder at once';
/** What a run in the shared folder gives up (docs/isolation.md#fallbacks): said with the reason. */
const SHARED_LOSS =
  "tasks side by side see each other's unfinished files, a change made alongside a task may be recorded as its own, and a failed task's files are not undone while another runs";

/** One task's execution in views, round after round. */
type InView = {
  io: ActorIO<Executing>;
  item: ExecuteTask;
  files: TaskFileRecords;
  dirty: Promise<Set<string>>;
  /** TaskRolledBack records so far: the next one's id. */
  discards: number;
};

/**
 * Runs a task in its own copy-on-write view (docs/isolation.md): its commands see the working
 * directory as it was when the view began plus their own writes; its change set is the view's
 * upper layer, recorded, then merged on success before the outcome is recorded (so dependants
 * see it), with the commit made in the same turn. A failure's view is discarded; a conflict's
 * too, and the task runs again on the new state or fails naming the paths. Where no overlay can
 * be had, a copy of the folder stands for the view (task-view.ts); where no copy either,
 * `inFolder` runs it in the folder itself. Which, and why, is said once.
 */
export async function executeInView(
  io: ActorIO<Executing>,
  item: ExecuteTask,
  recorded: StoredEvent[],
  resume: ResumePoint | undefined,
  inFolder: () => Promise<Ended>,
  startOver = false,
): Promise<Ended> {
  const { rt } = io;
  const confinement = await io.resources.confinement();
  const dirty = item.commit ? io.resources.dirty.of(item.runId, item.workdir) : Promise.resolve(new Set<string>());
  dirty.catch(() => undefined);
  // A task whose executor died goes on in the view it left; one whose view is gone starts over.
  const kept = existsSync(join(viewsDir(rt.config.stateDir), item.runId, item.taskId, 'started'));
  let point = resume && !kept && !startOver ? rerunPoint(recorded) : resume;
  let fresh = startOver || !(resume && kept);
  const discards = recorded.filter((e) => e.type === 'TaskRolledBack').length;
  const task: InView = { io, item, files: new TaskFileRecords(io, item, recorded), dirty, discards };
  for (let round = 0; ; round++) {
    let space: ViewSpace;
    try {
      space = await openViewSpace(item, rt.config.stateDir, confinement, limitsOf(rt.config), fresh);
    } catch (error) {
      warnOnce(rt, `${SHARED_FALLBACK}: ${(error as Error).message}; ${SHARED_LOSS}`);
      return inFolder();
    }
    if (space.fallback !== undefined) warnOnce(rt, `${COPY_FALLBACK}: ${space.fallback}; ${COPY_LOSS}`);
    const ended = await runInView(task, space, point, round);
    if (!('conflicts' in ended)) return ended;
    const reason = conflictReason(ended.conflicts);
    if (!rerunOf(rt, round, ended.conflicts))
      return { result: { ok: false, stage: 'conflict', reason, conflicts: ended.conflicts } };
    rt.log.info(`task ${item.taskId}: ${reason}; running it again on the new state`);
    task.files.restart();
    fresh = true;
    point = rerunPoint(await rt.store.read({ subject: eventSubjects.task(item.runId, item.taskId) }));
  }
}

/** One round: the machine runs in the view, its change set is recorded, then merged or discarded. */
async function runInView(
  task: InView,
  space: ViewSpace,
  point: ResumePoint | undefined,
  round: number,
): Promise<Ended | { conflicts: Conflict[] }> {
  const { io, item, files } = task;
  const { rt } = io;
  const activities = taskActivities(
    io,
    item,
    { before: (p) => contentNow(item.workdir, p), view: space.view, round },
    (fix) => files.record(space.checkpoint(), fix),
  );
  // A machine that threw leaves the view as it is: a resume goes on in it.
  const result = await runTaskMachine(activities, item, rt.config.recovery.maxAttemptsPerTask, point).catch(
    async (error: unknown) => {
      await space.close(true);
      throw error;
    },
  );
  await io.flushed();
  const end = space.finish();
  await files.record(end);
  if (!result.ok) {
    await discard(task, space, result);
    return { result };
  }
  // An attempt lost with its site and since routed elsewhere: its change set is never applied.
  const superseded = await supersededBy(rt.store, item);
  if (superseded) {
    await discard(task, space, result);
    return { result: { ok: false, stage: 'execution', reason: `not applied: ${superseded}` } };
  }
  const merged = await mergeView(task, space, end.steps, result);
  if ('failed' in merged) {
    // Nothing of it was applied: `resume` runs it again (TaskReopened).
    await discard(task, space, { ok: false, stage: 'execution', reason: merged.failed });
    return { result: { ok: false, stage: 'merge', reason: merged.failed } };
  }
  // The holder's end and the view's removal wait until the outcome is recorded: dependants start sooner.
  if (!merged.conflicts) return { result, commit: merged.commit, after: () => space.close() };
  await discard(task, space, result, rerunOf(rt, round, merged.conflicts));
  return { conflicts: merged.conflicts };
}

/** The view merged, and the commit of exactly its files made in the same turn; `failed` when nothing of it could be applied (a full disk). */
async function mergeView(task: InView, space: ViewSpace, steps: readonly MergeStep[], result: ExecutorOutput) {
  const { io, item, files } = task;
  const { rt } = io;
  return space
    .merge(steps, async (outcome) => {
      if (!outcome.merged) return { conflicts: outcome.conflicts, commit: undefined };
      for (const r of outcome.refused) rt.log.warn(`task ${item.taskId}: ${r.path} not merged: ${r.reason}`);
      const ignoring = await task.dirty.catch(() => new Set<string>());
      const paths = files.changedPaths().filter((p) => !ignoring.has(p));
      // Unverified is not success: its files land, uncommitted.
      const commit =
        item.commit && result.ok && result.evidence !== 'none' ? await commitTask(io, item, paths) : undefined;
      return { conflicts: undefined, commit };
    })
    .catch((error: unknown) => {
      // Nothing of the task was applied (a full disk): it fails; running the list again runs it.
      if (error instanceof MergeError) return { failed: error.message };
      throw error;
    });
}

/** Said the first time it comes up in this process. */
function warnOnce(rt: InView['io']['rt'], message: string): void {
  if (!warned.has(message)) rt.log.warn(message);
  warned.add(message);
}

const limitsOf = (config: InView['io']['rt']['config']) => ({
  maxFileBytes: config.changes.maxFileBytes,
  isolation: {
    mode: config.execution.isolation === 'copy' ? ('copy' as const) : ('view' as const),
    copyLimits: config.execution.copyLimits,
  },
});

type Rerun = { attempt: number; of: number; conflicts: Conflict[] };

/** Which run again of how many a conflict brings, or none when the task fails as a conflict. */
const rerunOf = (rt: InView['io']['rt'], round: number, conflicts: Conflict[]): Rerun | undefined =>
  rt.config.execution.onConflict === 'fail' || round >= CONFLICT_RETRIES
    ? undefined
    : { attempt: round + 1, of: CONFLICT_RETRIES, conflicts };

/** The view is gone (kept for a failure under `onFailure: "keep"`); a view that held changes is recorded as discarded. */
async function discard(task: InView, space: ViewSpace, result: ExecutorOutput, rerun?: Rerun): Promise<void> {
  const { io, item, files } = task;
  await space.close(!result.ok && io.rt.config.execution.onFailure === 'keep');
  // A view that holds no change is gone without a word, unless the task runs again for it.
  if (files.changes().length === 0 && !rerun) return;
  const id = eventIds.taskRecord(item.runId, item.taskId, 'TaskRolledBack', task.discards++, item.route?.attempt);
  const data = {
    restored: [],
    kept: [],
    discarded: true,
    ...(rerun ? { rerun } : {}),
    ...routeAttemptOfItem(item),
  };
  await io.perform([append(makeEvent('TaskRolledBack', { runId: item.runId, taskId: item.taskId, id }, data))]);
}

const conflictReason = (conflicts: readonly Conflict[]): string =>
  `${conflicts.map((c) => `${c.path} (changed by ${c.by})`).join(', ')} changed since the task's view began; nothing of it was applied`;

/**
 * Why a site's item must not go on (have its change set applied or committed): the task was
 * routed since to another site or attempt, as the log says now. Nothing for an item of the shared queue.
 */
export async function supersededBy(store: EventLog, item: Pick<ExecuteTask, 'runId' | 'taskId' | 'route'>) {
  if (!item.route) return undefined;
  // The task's last route is all it takes: one request, where reading the task's events took one per event.
  const last = await store.lastEvent(eventSubjects.of(item.runId, item.taskId, 'TaskRouted')).then(
    (e) => (e ? [e] : []),
    // One that does not decode is passed over as a read passes over it.
    () => store.read({ subject: eventSubjects.task(item.runId, item.taskId) }),
  );
  return leftBehind(item.route, attemptView(last));
}
