import type * as z from 'zod';
import type { WorkActor } from './subjects.ts';

/**
 * How actors reach each other besides the event log: work items (a queue per actor kind, each
 * item to one taker, kept until acknowledged) and requests (one answer, from any server of the
 * subject). `nats/work-queue.ts` and `nats/nats-requests.ts` carry them on JetStream and core NATS; `memory-bus.ts` in
 * memory, for hosts tested without a server. `test/helpers/bus-contract.ts` runs one suite
 * against both.
 */

/** What a handler did with a work item. */
export type Delivery = { outcome: 'ack' } | { outcome: 'retry'; delayMs: number } | { outcome: 'drop'; reason: string };
export const ack = (): Delivery => ({ outcome: 'ack' });
export const retry = (delayMs: number): Delivery => ({ outcome: 'retry', delayMs });
export const drop = (reason: string): Delivery => ({ outcome: 'drop', reason });

/**
 * `lease`: aborted when this process may have lost the item, having been frozen (SIGSTOP, a
 * suspended VM) past the ack wait, so another taker may have it now: nothing more may be recorded for it.
 */
export type WorkInfo = { redelivered: boolean; subject: string; signal: AbortSignal; lease: AbortSignal };
export type WorkHandler<T> = (item: T, info: WorkInfo) => Promise<Delivery>;

export type Consumer = {
  /**
   * Takes no new items, lets those in hand finish for up to `graceMs`, then aborts the rest
   * (their `signal`): unacknowledged, they go to whichever taker runs next.
   */
  stop(graceMs?: number): Promise<void>;
};

export interface WorkQueue {
  /** Queues an item for `actor` (on `site`'s own queue if named); an item whose `id` was queued before is dropped. */
  publish(actor: WorkActor, verb: string, item: unknown, id: string, site?: string): Promise<void>;
  /**
   * Takes `actor`'s items, at most `parallel` at a time, shared with every other taker of the
   * same actor. An item that does not match `schema` is dropped and reported; a handler that
   * throws has its item delivered again later (`redelivered`).
   */
  consume<S extends z.ZodType>(
    actor: WorkActor,
    schema: S,
    parallel: number,
    handler: WorkHandler<z.infer<S>>,
    onError: (error: unknown, subject: string) => void,
    /** A site's executor takes its site's own queue, not the shared one. */
    site?: string,
  ): Promise<Consumer>;
}

export type Server = { stop(): Promise<void> };

export interface Requests {
  /**
   * Sends `payload` to one server of `subject` and decodes its answer. Fails with an error
   * `isTransient` knows when nobody answers within `timeoutMs` (or nobody serves the subject).
   */
  request<S extends z.ZodType>(subject: string, payload: unknown, schema: S, timeoutMs: number): Promise<z.infer<S>>;
  /**
   * Answers requests on `subject` with what `handler` returns. Servers sharing a `queue` split
   * the requests; without one, every server gets each request and the first answer counts. A
   * request that does not match `schema`, or a handler that throws, is answered with `onError`.
   */
  serve<S extends z.ZodType>(
    subject: string,
    options: { schema: S; queue?: string; onError: (error: unknown) => unknown },
    handler: (request: z.infer<S>) => Promise<unknown>,
  ): Server;
}

/** Where a command's full output is kept when it is larger than the tails in its event. */
export interface OutputStore {
  /** Stores `output` under `name`; returns the reference recorded in CommandFinished. */
  put(name: string, output: string): Promise<string>;
}

/** File contents by their sha256 (what tasks changed): `diff` shows them, `revert` and rollback restore them. */
export interface ContentStore {
  /** Stores `bytes` under `hash`; a content already stored is not sent again. */
  put(hash: string, bytes: Uint8Array): Promise<void>;
  /** The content stored under `hash`, or undefined; unchecked: read it through storedContent, which checks it hashes to its name. */
  get(hash: string): Promise<Uint8Array | undefined>;
}
