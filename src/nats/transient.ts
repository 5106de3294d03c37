import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';

/**
 * Timeouts for successive attempts of a JetStream API request. A request that reaches a stream
 * or consumer leader on a stopped cluster node, or arrives while the cluster elects a new one, is
 * never answered: a short first timeout retries soon; longer ones follow so that a merely slow
 * server is still waited for.
 */
const REQUEST_TIMEOUTS_MS = [1_000, 2_000, 4_000, 8_000];
const RETRY_MS = 500;

function requestTimeout(attempt: number): number {
  return REQUEST_TIMEOUTS_MS[Math.min(attempt, REQUEST_TIMEOUTS_MS.length - 1)]!;
}

/** Server answers that waiting will not change: a missing stream, a failed append expectation. */
const PERMANENT_API_CODES = new Set<number>([
  JetStreamApiCodes.StreamNotFound,
  JetStreamApiCodes.StreamWrongLastSequence,
  JetStreamApiCodes.StreamWrongLastSequenceUnknown,
  JetStreamApiCodes.JetStreamNotEnabledForAccount,
]);
/** Client errors of a request that went unanswered, by their class names in nats.js. */
const UNANSWERED = new Set(['TimeoutError', 'RequestError', 'NoResponders', 'ConnectionError']);

/**
 * Whether a failed JetStream request may succeed when sent again: it was not answered (timeout,
 * no responders, connection lost), or the server answered with a cluster condition (no leader
 * yet, an offline replica). A refused permission or a closed connection will not heal by waiting.
 */
function isTransient(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return !PERMANENT_API_CODES.has(error.code) && !/permission/i.test(error.message);
  return error instanceof Error && UNANSWERED.has(error.name);
}

/**
 * A request still failing after this long fails for good: a cluster elects leaders and a restarted
 * server comes back well within it, and past it the caller's error (naming what failed) is better
 * than waiting on.
 */
const RETRY_BUDGET_MS = 120_000;

/**
 * Runs an idempotent request until it is answered, retrying (with growing timeouts) while the
 * failure is transient, for `budgetMs` at most. An aborted `signal` ends the waiting at once, with
 * the signal's reason.
 */
export async function retryTransient<T>(
  request: (timeoutMs: number) => Promise<T>,
  options: { budgetMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const deadline = Date.now() + (options.budgetMs ?? RETRY_BUDGET_MS);
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await request(requestTimeout(attempt));
    } catch (error) {
      if (!isTransient(error) || Date.now() >= deadline) throw error;
      await sleep(RETRY_MS, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
