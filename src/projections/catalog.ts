import { PLAN_CACHE, initialPlanCache, planCacheEvolver } from './plan-cache.ts';
import { RECOVERY_STATS, evolveRecoveryStats, initialRecoveryStats } from './recovery-stats.ts';
import type { Projection } from './runner.ts';
import { TASK_HISTORY, evolveTaskHistory, initialTaskHistory } from './task-history.ts';

/** Every long-lived projection, by name: what `replay --projection` can rebuild. */
export function projectionCatalog(options: { maxCacheEntries: number }): Record<string, Projection<unknown>> {
  return {
    [PLAN_CACHE.name]: { name: PLAN_CACHE.name, version: PLAN_CACHE.version, initialState: initialPlanCache, evolve: planCacheEvolver(options.maxCacheEntries) },
    [RECOVERY_STATS.name]: { name: RECOVERY_STATS.name, version: RECOVERY_STATS.version, initialState: initialRecoveryStats, evolve: evolveRecoveryStats },
    [TASK_HISTORY.name]: { name: TASK_HISTORY.name, version: TASK_HISTORY.version, initialState: initialTaskHistory, evolve: evolveTaskHistory },
  } as Record<string, Projection<unknown>>;
}
