import { InputError } from '../errors.ts';
import { dependsFromWaves, type DependencyWaves } from './dependency-waves.ts';
import type { Draft, Fail } from './task-draft.ts';

/** Why naming `number` is ambiguous, when two tasks carry it. */
function ambiguity(number: string, byNumber: Map<string, Draft[]>): string | undefined {
  const carriers = byNumber.get(number) ?? [];
  if (carriers.length < 2) return undefined;
  return `${number} is ambiguous: the tasks at lines ${carriers.map((t) => t.line).join(' and ')} are all numbered ${number}; name one as ${carriers.map((t) => t.id).join(' or ')}`;
}

/** A `Depends:` names numbers as written: each must name one task. */
export function resolveDepends(tasks: Draft[], byNumber: Map<string, Draft[]>, fail: Fail) {
  for (const task of tasks) {
    for (const dep of task.depends ?? []) {
      const why = ambiguity(dep, byNumber);
      if (why) fail(task.dependsLine ?? task.line, `task ${task.id}: Depends: ${why}`);
    }
  }
}

/**
 * `2.1` belongs to task 2 when there is one; otherwise (no number, or no such task) to the
 * nearest shallower open task, if any: people nest by indentation, tools by number.
 */
export function parentOf(
  number: string | undefined,
  enclosing: Draft | undefined,
  byNumber: Map<string, Draft[]>,
): string | undefined {
  const dot = number?.lastIndexOf('.') ?? -1;
  // The latest task of that number: numbering that restarts under each phase nests under its own phase's task.
  const parent = dot > 0 ? byNumber.get(number!.slice(0, dot))?.at(-1) : undefined;
  return parent?.id ?? enclosing?.id;
}

export function depthOf(id: string | undefined, byId: Map<string, Draft>): number {
  let depth = 0;
  for (let p = id; p !== undefined; p = byId.get(p)?.parentId) depth++;
  return depth;
}

export function applyWaves(
  tasks: Draft[],
  byId: Map<string, Draft>,
  byNumber: Map<string, Draft[]>,
  waves: DependencyWaves,
  fail: Fail,
) {
  for (const id of waves.waves.flat()) {
    const why = ambiguity(id, byNumber);
    if (why) fail(waves.line, `dependency waves: ${why}`);
    if (!byId.has(id)) fail(waves.line, `dependency waves name task ${id}, which is not in the file`);
  }
  const implied = dependsFromWaves(waves.waves, tasks);
  for (const task of tasks) {
    const depends = implied.get(task.id);
    // An explicit `Depends:` bullet is more specific than the waves.
    if (depends && task.depends === undefined) task.depends = depends;
  }
}

/**
 * Spec Kit's `[P]`: consecutive `[P]` siblings, with no heading or note between them, form a
 * group that runs side by side. A group waits for the step before it (a task or a group), and
 * the step after it waits for the whole group. A `Depends:` of a task's own, or from waves, wins.
 * Only what differs from "follows the previous sibling" is written as `depends`.
 */
export function applyParallelGroups(tasks: Draft[]) {
  const siblings = new Map<string | undefined, Draft[]>();
  for (const t of tasks) {
    const list = siblings.get(t.parentId) ?? [];
    list.push(t);
    siblings.set(t.parentId, list);
  }
  for (const list of siblings.values()) {
    if (!list.some((t) => t.parallel)) continue;
    const steps: Draft[][] = [];
    for (const t of list) {
      const last = steps.at(-1)?.at(-1);
      if (last && t.parallel && last.parallel && last.section === t.section) steps.at(-1)!.push(t);
      else steps.push([t]);
    }
    steps.forEach((step, k) => {
      const before = k > 0 ? steps[k - 1]!.map((t) => t.id) : [];
      step.forEach((t, i) => {
        if (t.depends === undefined && (i > 0 || before.length > 1)) t.depends = before;
      });
    });
  }
}

export function checkStructure(tasks: Draft[], file: string) {
  const byId = new Map<string, Draft>();
  for (const task of tasks) byId.set(task.id, task);
  for (const task of tasks) {
    for (const dep of task.depends ?? []) {
      if (!byId.has(dep))
        throw new InputError(`task ${task.id} depends on ${dep}, which is not in the file`, { file, line: task.line });
      if (dep === task.id) throw new InputError(`task ${task.id} depends on itself`, { file, line: task.line });
      if (isAncestor(task.id, dep, byId)) {
        throw new InputError(`task ${task.id} depends on its own subtask ${dep}, which runs after it`, {
          file,
          line: task.line,
        });
      }
    }
  }
  const cycle = findCycle(tasks);
  if (cycle) {
    const first = byId.get(cycle[0]!)!;
    throw new InputError(`dependency cycle: ${cycle.join(' -> ')}`, { file, line: first.line });
  }
}

function isAncestor(ancestor: string, id: string, byId: Map<string, Draft>): boolean {
  for (let p = byId.get(id)?.parentId; p !== undefined; p = byId.get(p)?.parentId) if (p === ancestor) return true;
  return false;
}

/** A cycle among the `Depends:`, as the ids along it; walked with a stack of its own, so a 100,000-task chain is fine. */
function findCycle(tasks: Draft[]): string[] | undefined {
  const deps = new Map(tasks.map((t) => [t.id, t.depends ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  for (const t of tasks) {
    if (state.has(t.id)) continue;
    // The path from t, each with the index of its next dependency to look at.
    const path: { id: string; next: number }[] = [{ id: t.id, next: 0 }];
    state.set(t.id, 'visiting');
    while (path.length > 0) {
      const top = path.at(-1)!;
      const dep = deps.get(top.id)?.[top.next++];
      if (dep === undefined) {
        state.set(top.id, 'done');
        path.pop();
      } else if (state.get(dep) === 'visiting') {
        return [...path.slice(path.findIndex((p) => p.id === dep)).map((p) => p.id), dep];
      } else if (!state.has(dep)) {
        state.set(dep, 'visiting');
        path.push({ id: dep, next: 0 });
      }
    }
  }
  return undefined;
}
