import { produce } from 'immer';
import type { StoredEvent } from '../events/agent-events.ts';
import { stateKeys } from '../events/ids.ts';
import type { Plan } from '../plan/plan-schema.ts';
import type { Projection } from './projection.ts';

export type CacheEntry = {
  key: string;
  taskText: string;
  contextChecksum: string;
  specChecksum: string;
  plan: Plan;
  /** Completed runs of this plan; an entry is served only once it has worked. */
  successes: number;
  lastUsedSeq: number;
};

export type PlanCache = {
  entries: Record<string, CacheEntry>;
  /** Plans whose task has not finished yet, by `stateKeys.task` (ids.ts): not served until they work. */
  pending: Record<string, CacheEntry>;
};

export const PLAN_CACHE = { name: 'plan-cache', version: 1 } as const;
export const initialPlanCache = (): PlanCache => ({ entries: {}, pending: {} });

/**
 * The plan cache as a fold of the log: a plan from the LLM (or adapted from the cache) becomes an
 * entry when its task completes; a failed task removes its plan. Bounded to `maxEntries`, least
 * recently used first out.
 */
export const planCacheEvolver =
  (maxEntries: number) =>
  (state: PlanCache, event: StoredEvent): PlanCache => {
    if (event.taskId === undefined) return state;
    const runTask = stateKeys.task(event.runId, event.taskId);
    switch (event.type) {
      case 'PlanCreated':
        if (event.data.source === 'explicit') return state;
        return produce(state, (d) => {
          d.pending[runTask] = {
            key: event.data.taskKey,
            taskText: event.data.taskText,
            contextChecksum: event.data.contextChecksum,
            specChecksum: event.data.specChecksum,
            plan: event.data.plan,
            successes: 0,
            lastUsedSeq: event.seq,
          };
        });
      case 'PlanCacheHit':
        if (!state.entries[event.data.entryKey]) return state;
        return produce(state, (d) => {
          d.entries[event.data.entryKey]!.lastUsedSeq = event.seq;
        });
      case 'TaskCompleted': {
        const pending = state.pending[runTask];
        if (!pending) return state;
        return produce(state, (d) => {
          delete d.pending[runTask];
          const existing = d.entries[pending.key];
          d.entries[pending.key] = { ...pending, successes: (existing?.successes ?? 0) + 1, lastUsedSeq: event.seq };
          const keys = Object.keys(d.entries);
          if (keys.length > maxEntries) {
            const oldest = keys
              .sort((a, b) => d.entries[a]!.lastUsedSeq - d.entries[b]!.lastUsedSeq)
              .slice(0, keys.length - maxEntries);
            for (const k of oldest) delete d.entries[k];
          }
        });
      }
      case 'TaskFailed': {
        const pending = state.pending[runTask];
        if (!pending) return state;
        return produce(state, (d) => {
          delete d.pending[runTask];
          delete d.entries[pending.key];
        });
      }
      case 'RunStarted':
      case 'TaskSubmitted':
      case 'PlanCacheMiss':
      case 'LlmCalled':
      case 'LlmCapabilityLearned':
      case 'CommandStarted':
      case 'CommandHeartbeat':
      case 'CommandFinished':
      case 'CommandDenied':
      case 'RecoveryAttempted':
      case 'RecoveryResolved':
      case 'RecoveryFailed':
      case 'TaskSkipped':
      case 'PlanInvalidated':
      case 'RunInterrupted':
      case 'RunResumed':
      case 'RunFinished':
      case 'TaskFilesChanged':
      case 'TaskRolledBack':
      case 'TaskReverted':
      case 'RunVerified':
        return state;
      default: {
        const never: never = event;
        return never;
      }
    }
  };

/** The plan cache as a projection, bounded to `maxEntries` plans. */
export const planCacheProjection = (maxEntries: number): Projection<PlanCache> => ({
  ...PLAN_CACHE,
  initialState: initialPlanCache,
  evolve: planCacheEvolver(maxEntries),
});
