import type { FileChange } from '../events/agent-events.ts';
import type { TaskFiles } from './run-changes.ts';

export type RevertStep = { taskId: string; writes: FileChange[]; conflicts: { path: string; reason: string }[] };

/**
 * What reverting `tasks` (in this order) would write, and where it would overwrite something it
 * did not write: a path that no longer holds the task's after content (a later task or a person
 * changed it since) is a conflict, as is one whose contents were not stored. `current` is what
 * each path holds now (hash, null: absent); reverting a task updates it for the next.
 */
export function planRevert(
  tasks: readonly TaskFiles[],
  all: readonly TaskFiles[],
  current: Map<string, string | null>,
): RevertStep[] {
  const now = new Map(current);
  return tasks.map((task) => {
    const step: RevertStep = { taskId: task.taskId, writes: [], conflicts: [] };
    for (const change of task.files) {
      if (!change.stored) {
        step.conflicts.push({
          path: change.path,
          reason: 'its contents were not stored (over a size cap), so it cannot be put back',
        });
        continue;
      }
      const holds = now.get(change.path) ?? null;
      if (holds !== change.after) {
        const later = all
          .filter((t) => t.seq > task.seq && !t.undone && t.files.some((f) => f.path === change.path))
          .map((t) => t.taskId);
        const by = later.length
          ? `task ${later.join(', ')} changed it since`
          : 'it was changed since the task (by hand, or outside the run)';
        step.conflicts.push({ path: change.path, reason: `${by}; it no longer holds what task ${task.taskId} left` });
      }
      step.writes.push(change);
      now.set(change.path, change.before);
    }
    return step;
  });
}
