import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
// Not exported by the main entry; the same class the client throws (mod.js re-exports internal_mod.js).
import { jserrors } from '@nats-io/jetstream/internal';
import { ConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { UnansweredError } from '../errors.ts';

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
  // nats.js says "jetstream is not enabled" for a request nobody answered (a stream whose leader is
  // being elected, as a cluster's node goes) as for an account without JetStream: its cause tells which.
  if (error instanceof jserrors.JetStreamNotEnabled) return isTransient(error.cause);
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

/** How one kind of operation is retried: data, one declaration per kind in retry-policies.ts. */
export type RetryPolicy = {
  /** How long to keep trying; Infinity: until the caller stops it (`stopRetrying`, `signal`). */
  budgetMs: number;
  /** At most this many attempts (none: no limit but the budget). */
  attempts?: number;
  /** The wait after the first failure, doubling up to `maxMs`. */
  backoff: { firstMs: number; maxMs: number };
  /** The timeout of each successive attempt; the last repeats. */
  timeoutsMs: readonly number[];
  /** Which failures are worth another attempt. */
  transient: (error: unknown) => boolean;
};

/** What the caller of one retried operation adds to its policy. */
export type RetryContext = {
  /** Once aborted, a failure is not retried (the operation is still tried once). */
  stopRetrying?: AbortSignal;
  /** Ends the waiting at once, with the signal's reason. */
  signal?: AbortSignal;
  /** Told of each failure that will be retried. */
  onRetry?: (error: unknown, attempt: number) => void;
};

/** The wait before attempt `attempt + 1` under `policy`. */
export function backoffMs(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.backoff.maxMs, policy.backoff.firstMs * 2 ** attempt);
}

/**
 * Runs an idempotent operation until it succeeds, retrying with backoff while its failure is
 * transient, within the policy's budget and attempts. `operation` gets the timeout its attempt
 * should use (growing with each attempt). The policies are data, in retry-policies.ts.
 */
export async function retryTransient<T>(
  operation: (timeoutMs: number) => Promise<T>,
  policy: RetryPolicy,
  context: RetryContext = {},
): Promise<T> {
  const deadline = Date.now() + policy.budgetMs;
  const { timeoutsMs } = policy;
  for (let attempt = 0; ; attempt++) {
    context.signal?.throwIfAborted();
    try {
      return await operation(timeoutsMs[Math.min(attempt, timeoutsMs.length - 1)]!);
    } catch (error) {
      const last = policy.attempts !== undefined && attempt + 1 >= policy.attempts;
      const retryable = policy.transient(error) && !context.stopRetrying?.aborted;
      if (!retryable || last || Date.now() >= deadline) throw error;
      context.onRetry?.(error, attempt);
      await sleep(backoffMs(attempt, policy), undefined, context.signal ? { signal: context.signal } : undefined);
    }
  }
}
