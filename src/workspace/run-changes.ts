import type { AgentEventType, FileChange, StoredEvent } from '../events/agent-events.ts';

/**
 * What a remote task's change set is read from (by the home merge and a site's catch-up, through
 * currentAttempts): its records, their undoing, its completion, and the routes and reopenings
 * that say which attempt of the task is its own.
 */
export const CHANGE_SET_TYPES: ReadonlySet<AgentEventType> = new Set([
  'TaskRouted',
  'TaskReopened',
  'TaskFilesChanged',
  'TaskRolledBack',
  'TaskReverted',
  'TaskCompleted',
]);

/** One task's recorded changes, folded from its TaskFilesChanged events (a rerun records again). */
export type TaskFiles = {
  taskId: string;
  files: FileChange[];
  ignored: { path: string; entries: number }[];
  skipped: { path: string; reason: string }[];
  /** Undone since: by the rollback of its failure, or by `revert`. */
  undone?: 'rolled-back' | 'reverted';
  /** The sequence of its last record: the order tasks changed the tree in. */
  seq: number;
};

/**
 * Several changes of one path, in order, as one: the first before, the last after. A path that
 * ends as it began is no change at all.
 */
export function netChanges(changes: readonly FileChange[]): FileChange[] {
  const byPath = new Map<string, FileChange>();
  for (const c of changes) {
    const first = byPath.get(c.path);
    if (!first) {
      byPath.set(c.path, c);
      continue;
    }
    const beforeKind = first.beforeKind ?? first.kind;
    const { beforeKind: _, ...last } = c;
    byPath.set(c.path, {
      ...last,
      ...(beforeKind !== c.kind ? { beforeKind } : {}),
      before: first.before,
      beforeMode: first.beforeMode,
      stored: first.stored && c.stored,
    });
  }
  return [...byPath.values()]
    .filter((c) => c.before !== c.after || c.beforeMode !== c.mode)
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Each task's changes in a run's events, in the order they were recorded. */
export function changesByTask(events: readonly StoredEvent[]): TaskFiles[] {
  const tasks = new Map<string, TaskFiles & { all: FileChange[] }>();
  for (const e of events) {
    if (e.taskId === undefined) continue;
    if (e.type === 'TaskFilesChanged') {
      const t = tasks.get(e.taskId) ?? { taskId: e.taskId, files: [], all: [], ignored: [], skipped: [], seq: e.seq };
      // Recorded after its view was discarded: the task ran again, and only that run is its change.
      if (t.undone === 'rolled-back') {
        delete t.undone;
        t.all = [];
        t.ignored = [];
        t.skipped = [];
      }
      t.all.push(...e.data.files);
      t.ignored.push(...e.data.ignored);
      t.skipped.push(...e.data.skipped);
      t.seq = e.seq;
      tasks.set(e.taskId, t);
    } else if (e.type === 'TaskRolledBack' || e.type === 'TaskReverted') {
      const t = tasks.get(e.taskId);
      if (t) t.undone = e.type === 'TaskRolledBack' ? 'rolled-back' : 'reverted';
    }
  }
  return [...tasks.values()].sort((a, b) => a.seq - b.seq).map(({ all, ...t }) => ({ ...t, files: netChanges(all) }));
}

/** What the run changed in all, tasks undone since left out. */
export function runChanges(tasks: readonly TaskFiles[]): FileChange[] {
  return netChanges(tasks.filter((t) => !t.undone).flatMap((t) => t.files));
}
