import { posix } from 'node:path';
import { analyzeCommand, type CommandEffects } from './shell-analysis.ts';

export type GraphCommand = { id: string; command: string; dependsOn?: readonly string[] };
export type Edge = { from: string; to: string; reason: string };
export type CommandGraph = {
  order: string[];
  effects: Record<string, CommandEffects>;
  /** Dependencies of each command (ids that must finish before it starts). */
  deps: Record<string, string[]>;
  edges: Edge[];
};

/**
 * Builds the dependency graph of a plan's commands. An earlier command precedes a later one when
 * the plan says so, when their files conflict (write/write, write/read, read/write), or when either
 * is a barrier or opaque. When unsure, depend: a false edge costs time, a missing one correctness.
 */
export function buildCommandGraph(commands: readonly GraphCommand[]): CommandGraph {
  const effects: Record<string, CommandEffects> = {};
  const deps: Record<string, string[]> = {};
  const edges: Edge[] = [];
  const ids = new Set(commands.map((c) => c.id));
  const addEdge = (from: string, to: string, reason: string) => {
    if (deps[to]!.includes(from)) return;
    deps[to]!.push(from);
    edges.push({ from, to, reason });
  };

  commands.forEach((cmd, index) => {
    const mine = analyzeCommand(cmd.command);
    effects[cmd.id] = mine;
    deps[cmd.id] = [];
    for (const dep of cmd.dependsOn ?? []) {
      if (ids.has(dep) && dep !== cmd.id) addEdge(dep, cmd.id, 'declared dependency');
    }
    for (const earlier of commands.slice(0, index)) {
      const theirs = effects[earlier.id]!;
      const reason = orderingReason(theirs, mine);
      if (reason) addEdge(earlier.id, cmd.id, reason);
    }
  });
  removeTransitive(
    commands.map((c) => c.id),
    deps,
    edges,
  );
  return { order: commands.map((c) => c.id), effects, deps, edges };
}

function orderingReason(earlier: CommandEffects, later: CommandEffects): string | undefined {
  if (earlier.barrier)
    return `after ${earlier.notes.find((n) => n.includes('environment') || n.includes('variable')) ?? 'a barrier'}`;
  if (later.barrier)
    return `${later.notes.find((n) => n.includes('environment') || n.includes('variable')) ?? 'barrier'}: waits for earlier commands`;
  if (earlier.opaque) return `after an opaque command (${earlier.notes.join('; ')})`;
  if (later.opaque) return `opaque (${later.notes.join('; ')}): waits for earlier commands`;
  const conflict =
    firstConflict(earlier.writes, later.writes, 'both write') ??
    firstConflict(earlier.writes, later.reads, 'reads what the earlier writes') ??
    firstConflict(earlier.reads, later.writes, 'writes what the earlier reads');
  return conflict;
}

function firstConflict(a: string[], b: string[], what: string): string | undefined {
  for (const x of a) {
    for (const y of b) {
      if (overlaps(x, y)) return `${what}: ${x === y ? x : `${x} / ${y}`}`;
    }
  }
  return undefined;
}

/** Same path, one inside the other, or a variable/glob we cannot resolve: treat as overlapping. */
export function overlaps(a: string, b: string): boolean {
  if (/[$*?[{]/.test(a) || /[$*?[{]/.test(b)) return true;
  const pa = normalise(a);
  const pb = normalise(b);
  return pa === pb || pa.startsWith(`${pb}/`) || pb.startsWith(`${pa}/`) || pa === '.' || pb === '.';
}

function normalise(path: string): string {
  return posix.normalize(path).replace(/\/+$/, '') || '/';
}

/** Keeps the graph readable: an edge implied by a longer path is dropped (its reason too). */
function removeTransitive(order: string[], deps: Record<string, string[]>, edges: Edge[]) {
  const reach = new Map<string, Set<string>>();
  for (const id of order) {
    const all = new Set<string>();
    for (const d of deps[id]!) {
      all.add(d);
      for (const r of reach.get(d) ?? []) all.add(r);
    }
    reach.set(id, all);
  }
  for (const id of order) {
    const direct = deps[id]!;
    const implied = direct.filter((d) => direct.some((other) => other !== d && reach.get(other)?.has(d)));
    if (implied.length === 0) continue;
    deps[id] = direct.filter((d) => !implied.includes(d));
    for (const d of implied) {
      const at = edges.findIndex((e) => e.from === d && e.to === id);
      if (at >= 0) edges.splice(at, 1);
    }
  }
}

/** Length of the longest chain of `durations` through the graph: the best any scheduler can do. */
export function criticalPath(graph: CommandGraph, durations: Record<string, number>): number {
  const finish = new Map<string, number>();
  for (const id of graph.order) {
    const start = Math.max(0, ...graph.deps[id]!.map((d) => finish.get(d) ?? 0));
    finish.set(id, start + (durations[id] ?? 0));
  }
  return Math.max(0, ...finish.values());
}
