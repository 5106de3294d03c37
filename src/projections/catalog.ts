import { llmCapabilitiesProjection } from './llm-capabilities.ts';
import { planCacheProjection } from './plan-cache.ts';
import type { Projection } from './projection.ts';
import { recoveryStatsProjection } from './recovery-stats.ts';
import { taskHistoryProjection } from './task-history.ts';

/** Every long-lived projection, by name: what `replay --projection` can rebuild. */
export function projectionCatalog(options: { maxCacheEntries: number }): Record<string, Projection<unknown>> {
  const all: Projection<unknown>[] = [
    planCacheProjection(options.maxCacheEntries),
    recoveryStatsProjection,
    taskHistoryProjection,
    llmCapabilitiesProjection,
  ];
  return Object.fromEntries(all.map((p) => [p.name, p]));
}
