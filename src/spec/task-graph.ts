import type { TaskSpec } from './task-spec.ts';

/**
 * What a task waits for. `full`: the task and all its subtasks are done. `own`: only the task's
 * own commands (a subtask waits for its parent's own commands, not for its siblings' parent).
 */
export type Blocker = { id: string; need: 'own' | 'full' };

/**
 * Explicit `Depends:` wins; otherwise a task follows its previous sibling, so a plain list runs in
 * file order (when unsure, depend). A subtask also waits for its parent's own commands.
 */
export function blockersOf(task: TaskSpec, all: readonly TaskSpec[]): Blocker[] {
  const blockers: Blocker[] = [];
  if (task.depends !== undefined) {
    blockers.push(...task.depends.map((id) => ({ id, need: 'full' as const })));
  } else {
    const siblings = all.filter((t) => t.parentId === task.parentId);
    const previous = siblings[siblings.indexOf(task) - 1];
    if (previous) blockers.push({ id: previous.id, need: 'full' });
  }
  if (task.parentId !== undefined) blockers.push({ id: task.parentId, need: 'own' });
  return blockers;
}

export function childrenOf(id: string, all: readonly TaskSpec[]): TaskSpec[] {
  return all.filter((t) => t.parentId === id);
}
