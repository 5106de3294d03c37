import { produce } from 'immer';
import type { StoredEvent } from '../events/agent-events.ts';
import type { Projection } from './projection.ts';

export type StrategyStats = { attempts: number; successes: number };
export type RecoveryStats = { strategies: Record<string, StrategyStats> };

export const RECOVERY_STATS = { name: 'recovery-stats', version: 1 } as const;
export const initialRecoveryStats = (): RecoveryStats => ({ strategies: {} });

/** How much the declared prior weighs, in observations. */
const PRIOR_WEIGHT = 2;

/** Outcomes per strategy (ids are `pattern/strategy`, or `llm/...`), from the recovery events. */
export const evolveRecoveryStats = (state: RecoveryStats, event: StoredEvent): RecoveryStats => {
  if (event.type !== 'RecoveryResolved' && event.type !== 'RecoveryFailed') return state;
  return produce(state, (d) => {
    const s = (d.strategies[event.data.strategyId] ??= { attempts: 0, successes: 0 });
    s.attempts++;
    if (event.type === 'RecoveryResolved') s.successes++;
  });
};

/** Posterior success probability: the declared prior, moved by what was observed here. */
export function posterior(prior: number, stats: StrategyStats | undefined): number {
  return (prior * PRIOR_WEIGHT + (stats?.successes ?? 0)) / (PRIOR_WEIGHT + (stats?.attempts ?? 0));
}

export const recoveryStatsProjection: Projection<RecoveryStats> = { ...RECOVERY_STATS, initialState: initialRecoveryStats, evolve: evolveRecoveryStats };
