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
  /**
   * Plans `run --dry --plan` made, by key: served on their exact key only, as drafted (never
   * adapted to a similar task, never counted as a plan that worked), until a task of that key ends.
   */
  drafts: Record<string, CacheEntry>;
};

const PLAN_CACHE = { name: 'plan-cache', version: 3 } as const;
export const initialPlanCache = (): PlanCache => ({ entries: {}, pending: {}, drafts: {} });

/**
 * The plan cache as a fold of the log: a plan from the LLM (or adapted from the cache) becomes an
 * entry when its task completes with evidence (never an empty plan); a failed or reverted task removes its plan. Bounded to `maxEntries`, least
 * recently used first out.
 *
 * Folds in place (as the run status does): an immutable update copied the whole table and
 * sorted it, through immer's drafts, on every completed task: 0.5 ms a task with 1,000 entries
 * and 3.8 ms once full, in the decomposer of every run and in every replay. The order of use is
 * kept beside the state (`useOrder`), so finding the entry to drop costs O(1), not a sort.
 */
export const planCacheEvolver =
  (maxEntries: number) =>
  (state: PlanCache, event: StoredEvent): PlanCache => {
    if (event.taskId === undefined) return state;
    const runTask = stateKeys.task(event.runId, event.taskId);
    switch (event.type) {
      case 'PlanCreated':
        // An empty plan (recorded before planning refused them) is no plan to serve again.
        if (event.data.source === 'explicit' || event.data.plan.commands.length === 0) return state;
        state.pending[runTask] = {
          key: event.data.taskKey,
          taskText: event.data.taskText,
          contextChecksum: event.data.contextChecksum,
          specChecksum: event.data.specChecksum,
          plan: event.data.plan,
          successes: 0,
          lastUsedSeq: event.seq,
        };
        return state;
      case 'PlanDrafted': {
        const { taskKey: key, taskText, contextChecksum, specChecksum, plan } = event.data;
        state.drafts[key] = {
          key,
          taskText,
          contextChecksum,
          specChecksum,
          plan,
          successes: 0,
          lastUsedSeq: event.seq,
        };
        boundDrafts(state, maxEntries);
        return state;
      }
      case 'PlanCacheHit': {
        const entry = state.entries[event.data.entryKey];
        if (!entry) return state;
        entry.lastUsedSeq = event.seq;
        use(state, entry);
        return state;
      }
      case 'TaskCompleted': {
        const pending = state.pending[runTask];
        if (!pending) return state;
        delete state.pending[runTask];
        delete state.drafts[pending.key];
        // Completed unverified (a fix replaced a command, nothing checked the result): not a plan that worked.
        if (event.data.evidence === 'none') return state;
        const successes = (state.entries[pending.key]?.successes ?? 0) + 1;
        use(state, { ...pending, successes, lastUsedSeq: event.seq });
        const order = useOrder(state);
        for (const oldest of order) {
          if (order.size <= maxEntries) break;
          order.delete(oldest);
          delete state.entries[oldest];
        }
        return state;
      }
      case 'TaskFailed': {
        const pending = state.pending[runTask];
        if (!pending) return state;
        delete state.pending[runTask];
        delete state.drafts[pending.key];
        drop(state, pending.key);
        return state;
      }
      case 'TaskReverted':
        if (event.data.stalePlan === undefined) return state;
        drop(state, event.data.stalePlan);
        delete state.drafts[event.data.stalePlan];
        return state;
      case 'RunStarted':
      case 'TaskSubmitted':
      case 'PlanCacheMiss':
      case 'PlanCancelled':
      case 'LlmCalled':
      case 'LlmCapabilityLearned':
      case 'CommandStarted':
      case 'TaskRouted':
      case 'TaskWaiting':
      case 'TaskAttemptLost':
      case 'SiteHeartbeat':
      case 'CommandHeartbeat':
      case 'CommandFinished':
      case 'CommandDenied':
      case 'RecoveryAttempted':
      case 'RecoveryResolved':
      case 'RecoveryFailed':
      case 'TaskSkipped':
      case 'TaskReopened':
      case 'PlanInvalidated':
      case 'RunInterrupted':
      case 'RunResumed':
      case 'RunFinished':
      case 'TaskFilesChanged':
      case 'TaskRolledBack':
      case 'TaskTicked':
      case 'RunVerified':
        return state;
      default: {
        const never: never = event;
        return never;
      }
    }
  };

/**
 * The keys of a cache's entries, least recently used first: derived from the state (its
 * `lastUsedSeq`s, once, for a state the fold did not build, such as a snapshot's) and kept
 * beside it, not in it, as a snapshot need not hold it. A Set, as it keeps the order of
 * insertion with O(1) removal.
 */
const useOrders = new WeakMap<PlanCache, Set<string>>();
function useOrder(state: PlanCache): Set<string> {
  let order = useOrders.get(state);
  if (!order) {
    const entries = Object.values(state.entries).sort((a, b) => a.lastUsedSeq - b.lastUsedSeq);
    order = new Set(entries.map((e) => e.key));
    useOrders.set(state, order);
  }
  return order;
}

/** At most `maxEntries` drafts, the oldest out: a scan, as drafts come a dry run at a time, not a task at a time. */
function boundDrafts(state: PlanCache, maxEntries: number): void {
  const drafts = Object.values(state.drafts);
  if (drafts.length <= maxEntries) return;
  drafts.sort((a, b) => a.lastUsedSeq - b.lastUsedSeq);
  for (const old of drafts.slice(0, drafts.length - maxEntries)) delete state.drafts[old.key];
}

/** Takes an entry out of the table: its plan is not served again. */
function drop(state: PlanCache, key: string): void {
  delete state.entries[key];
  useOrder(state).delete(key);
}

/** The cache entry a task of a run was last planned from or stored as (none for an explicit plan). */
export function planKeyOf(events: readonly StoredEvent[], taskId: string): string | undefined {
  let key: string | undefined;
  for (const e of events) {
    if (e.taskId !== taskId) continue;
    if (e.type === 'PlanCacheHit') key = e.data.entryKey;
    else if (e.type === 'PlanCreated') key = e.data.source === 'explicit' ? undefined : e.data.taskKey;
  }
  return key;
}

/** Puts `entry` in the table, last in the order of use. */
function use(state: PlanCache, entry: CacheEntry): void {
  const order = useOrder(state);
  order.delete(entry.key);
  order.add(entry.key);
  state.entries[entry.key] = entry;
}

/** The plan cache as a projection, bounded to `maxEntries` plans. */
export const planCacheProjection = (maxEntries: number): Projection<PlanCache> => ({
  ...PLAN_CACHE,
  initialState: initialPlanCache,
  evolve: planCacheEvolver(maxEntries),
});
