import { llmCapabilitiesProjection } from './llm-capabilities.ts';
import { planCacheProjection } from './plan-cache.ts';
import type { StoredEvent } from '../events/agent-events.ts';
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

/** Projections folded side by side over one read of the log, as `replay` rebuilds them. */
export function foldTogether(projections: Record<string, Projection<unknown>>): {
  states: Record<string, unknown>;
  evolve: (event: StoredEvent) => void;
} {
  const named = Object.entries(projections);
  const states: Record<string, unknown> = Object.fromEntries(named.map(([n, p]) => [n, p.initialState()]));
  return {
    states,
    evolve: (event) => {
      for (const [n, p] of named) states[n] = p.evolve(states[n], event);
    },
  };
}
