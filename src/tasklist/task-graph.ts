import type { TaskSpec } from './task-spec.ts';

/**
 * What a task waits for. `full`: the task and all its subtasks are done. `own`: only the task's
 * own commands (a subtask waits for its parent's own commands, not for its siblings' parent).
 */
export type Blocker = { id: string; need: 'own' | 'full' };

/** A task list's structure, indexed once: children and the previous sibling of each task in O(1). */
export type TaskGraph = {
  children(id: string): readonly TaskSpec[];
  previousSibling(task: TaskSpec): TaskSpec | undefined;
};

export function taskGraph(all: readonly TaskSpec[]): TaskGraph {
  const children = new Map<string | undefined, TaskSpec[]>();
  const previous = new Map<string, TaskSpec>();
  for (const t of all) {
    const siblings = children.get(t.parentId) ?? [];
    const before = siblings.at(-1);
    if (before) previous.set(t.id, before);
    siblings.push(t);
    children.set(t.parentId, siblings);
  }
  return { children: (id) => children.get(id) ?? [], previousSibling: (task) => previous.get(task.id) };
}

/**
 * Explicit `Depends:` wins; otherwise a task follows its previous sibling, so a plain list runs in
 * file order (when unsure, depend). A subtask also waits for its parent's own commands.
 */
export function blockersIn(graph: TaskGraph, task: TaskSpec): Blocker[] {
  const blockers: Blocker[] = [];
  if (task.depends !== undefined) {
    blockers.push(...task.depends.map((id) => ({ id, need: 'full' as const })));
  } else {
    const previous = graph.previousSibling(task);
    if (previous) blockers.push({ id: previous.id, need: 'full' });
  }
  if (task.parentId !== undefined) blockers.push({ id: task.parentId, need: 'own' });
  return blockers;
}

export const blockersOf = (task: TaskSpec, all: readonly TaskSpec[]): Blocker[] => blockersIn(taskGraph(all), task);

export function childrenOf(id: string, all: readonly TaskSpec[]): TaskSpec[] {
  return all.filter((t) => t.parentId === id);
}
