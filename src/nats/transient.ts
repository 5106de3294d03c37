import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { ConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { UnansweredError } from '../errors.ts';

/**
 * The one retry policy of the system: for JetStream requests, for the coordinator's decisions
 * and for the executor's recovery requests. Every operation retried here is idempotent (ids are
 * deterministic), so sending it again is always safe; the question is only whether waiting can
 * help, and for how long.
 */

/**
 * Timeouts for successive attempts of a request. A request that reaches a stream or consumer
 * leader on a stopped cluster node, or arrives while the cluster elects a new one, is never
 * answered: a short first timeout retries soon; longer ones follow so that a merely slow server
 * is still waited for.
 */
const REQUEST_TIMEOUTS_MS = [1_000, 2_000, 4_000, 8_000];
/** Waits between attempts: 250 ms, doubling, at most 5 s. */
const BACKOFF_MS = { first: 250, max: 5_000 };
/**
 * A request still failing after this long fails for good: a cluster elects leaders and a restarted
 * server comes back well within it, and past it the caller's error (naming what failed) is better
 * than waiting on.
 */
const RETRY_BUDGET_MS = 120_000;

/** Server answers that waiting will not change: a missing stream, a failed append expectation. */
const PERMANENT_API_CODES = new Set<number>([
  JetStreamApiCodes.StreamNotFound,
  JetStreamApiCodes.StreamWrongLastSequence,
  JetStreamApiCodes.StreamWrongLastSequenceUnknown,
  JetStreamApiCodes.JetStreamNotEnabledForAccount,
]);

/**
 * Whether a failed request may succeed when sent again: it was not answered (timeout, no
 * responders, connection lost), or the server answered with a cluster condition (no leader yet,
 * an offline replica). A refused permission or a closed connection will not heal by waiting.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof JetStreamApiError)
    return !PERMANENT_API_CODES.has(error.code) && !/permission/i.test(error.message);
  // ClosedConnectionError is not a ConnectionError: a connection this process closed stays closed.
  return (
    error instanceof UnansweredError ||
    error instanceof TimeoutError ||
    error instanceof RequestError ||
    error instanceof NoRespondersError ||
    error instanceof ConnectionError
  );
}

export type RetryOptions = {
  /** How long to keep trying (default 120 s; Infinity: until `signal` aborts). */
  budgetMs?: number;
  /** At most this many attempts (default: no limit but the budget). */
  attempts?: number;
  /** Which failures are worth another attempt (default: `isTransient`). */
  retryable?: (error: unknown) => boolean;
  /** Told of each failure that will be retried. */
  onRetry?: (error: unknown, attempt: number) => void;
  /** Ends the waiting at once, with the signal's reason. */
  signal?: AbortSignal;
};

/** The wait before attempt `attempt + 1`. */
export function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** attempt);
}

/**
 * Runs an idempotent operation until it succeeds, retrying with backoff while its failure is
 * retryable, within the budget and the number of attempts. `operation` gets the timeout its
 * attempt should use (growing with each attempt).
 */
export async function retryTransient<T>(
  operation: (timeoutMs: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.budgetMs ?? RETRY_BUDGET_MS);
  const retryable = options.retryable ?? isTransient;
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await operation(REQUEST_TIMEOUTS_MS[Math.min(attempt, REQUEST_TIMEOUTS_MS.length - 1)]!);
    } catch (error) {
      const last = options.attempts !== undefined && attempt + 1 >= options.attempts;
      if (!retryable(error) || last || Date.now() >= deadline) throw error;
      options.onRetry?.(error, attempt);
      await sleep(backoffMs(attempt), undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
