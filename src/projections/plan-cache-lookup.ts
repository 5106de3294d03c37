import type { CacheEntry, PlanCache } from './plan-cache.ts';
import type { Plan } from '../plan/plan-schema.ts';
import { adaptText, renamePairs, similarity, tokens } from '../plan/similarity.ts';

export type CacheQuery = { key: string; taskText: string; contextChecksum: string; specChecksum: string };
export type Lookup =
  | { kind: 'exact'; entry: CacheEntry }
  | { kind: 'drafted'; entry: CacheEntry }
  | { kind: 'similar'; entry: CacheEntry; similarity: number; adaptations: { from: string; to: string }[]; plan: Plan }
  | { kind: 'miss'; reason: string; best?: { key: string; similarity: number } };

/**
 * Looks a task up in the plan cache: the exact key (task text + the context it is planned with),
 * else the most similar entry planned against the same spec files, its plan adapted to the new
 * names, else a draft of `run --dry --plan` for the same key. A similar hit is only a candidate:
 * the caller validates it before serving it.
 */
export function lookupPlan(cache: PlanCache, query: CacheQuery, threshold: number): Lookup {
  const exact = cache.entries[query.key];
  if (exact) return { kind: 'exact', entry: exact };
  // A plan that worked wins over a draft; a draft only ever serves its own key (the same task, files and spec).
  const drafted = cache.drafts[query.key];
  if (drafted) return { kind: 'drafted', entry: drafted };
  const entries = Object.values(cache.entries);
  const stale = entries.find((e) => e.taskText === query.taskText);
  if (stale) {
    return {
      kind: 'miss',
      reason: `context changed since entry ${stale.key} was planned (${stale.contextChecksum} -> ${query.contextChecksum})`,
    };
  }
  let best: { entry: CacheEntry; score: number } | undefined;
  for (const entry of entries) {
    const score = similarity(entry.taskText, query.taskText);
    if (!best || score > best.score) best = { entry, score };
  }
  if (!best) return { kind: 'miss', reason: 'the cache is empty' };
  const bestInfo = { key: best.entry.key, similarity: round(best.score) };
  if (best.score < threshold)
    return {
      kind: 'miss',
      reason: `no entry is similar enough (best ${bestInfo.similarity} < ${threshold})`,
      best: bestInfo,
    };
  if (best.entry.specChecksum !== query.specChecksum) {
    return {
      kind: 'miss',
      reason: `the most similar entry ${best.entry.key} was planned against other spec files`,
      best: bestInfo,
    };
  }
  const adaptations = renamePairs(tokens(best.entry.taskText), tokens(query.taskText));
  return {
    kind: 'similar',
    entry: best.entry,
    similarity: round(best.score),
    adaptations,
    plan: adaptPlan(best.entry.plan, adaptations),
  };
}

function adaptPlan(plan: Plan, pairs: { from: string; to: string }[]): Plan {
  const a = (s: string) => adaptText(s, pairs);
  return {
    ...plan,
    commands: plan.commands.map((c) => ({
      ...c,
      command: a(c.command),
      description: a(c.description),
      expectedOutputs: c.expectedOutputs.map(a),
    })),
    decisionPoints: plan.decisionPoints.map((d) => ({
      ...d,
      target: a(d.target),
      ...(d.expected !== undefined ? { expected: a(d.expected) } : {}),
    })),
    successCriteria: plan.successCriteria.map((c) =>
      c.kind === 'file_exists'
        ? { ...c, path: a(c.path) }
        : c.kind === 'command'
          ? { ...c, command: a(c.command) }
          : { ...c, command: a(c.command), text: a(c.text) },
    ),
    fallbacks: plan.fallbacks.map((f) => ({ trigger: a(f.trigger), commands: f.commands.map(a) })),
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
