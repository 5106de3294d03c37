import { isTransient, type RetryPolicy } from './transient.ts';

/**
 * A request that reaches a stream or consumer leader on a stopped cluster node, or arrives while
 * the cluster elects a new one, is never answered: a short first timeout retries soon; longer
 * ones follow so that a merely slow server is still waited for.
 */
const REQUEST_TIMEOUTS_MS = [1_000, 2_000, 4_000, 8_000];
const BACKOFF = { firstMs: 250, maxMs: 5_000 };

/**
 * A JetStream request (an append, a message read, a content stored). Past the budget the
 * caller's error, naming what failed, is better than waiting on: a cluster elects leaders and a
 * restarted server comes back well within it.
 */
const request: RetryPolicy = {
  budgetMs: 120_000,
  backoff: BACKOFF,
  timeoutsMs: REQUEST_TIMEOUTS_MS,
  transient: isTransient,
};

/**
 * Every retried operation, by kind: each is idempotent (its ids are deterministic), so the
 * question is only whether waiting can help, and for how long. The host applies the effect
 * kinds' policies (run-actor.ts); nothing retries around an operation that retries itself.
 */
export const retryPolicies = {
  request,
  /** A reader's consumer: it waits for the cluster or the connection as long as it is not stopped. */
  follow: { ...request, budgetMs: Infinity },
  /** An actor's events, appended by the host: tried at least once, then while transient and the actor runs. */
  append: { ...request, budgetMs: Infinity },
  /** A work item sent by the host for an actor: as `append`. */
  send: { ...request, budgetMs: Infinity },
  /** A site's change set brought home: its contents read again while a cluster elects leaders. */
  home: request,
  /** A site's copy of a run's project (the snapshot, the change sets done elsewhere): as `home`. */
  materialise: request,
  /** A checkbox ticked in the user's file: a failure is said, not retried. */
  tick: { ...request, attempts: 1, transient: () => false },
  /** A recovery request: a recoverer that dies mid-request is asked again (`recovery.requestTries` times). */
  recover: (attempts: number): RetryPolicy => ({ ...request, budgetMs: Infinity, attempts }),
} as const;
