import type * as z from 'zod';
import { DecodeError, UnansweredError } from '../errors.ts';
import type { Consumer, ContentStore, Delivery, OutputStore, Requests, Server, WorkHandler, WorkQueue } from './bus.ts';
import { decodeJson, encodeJson } from './codec.ts';
import { commandSubjects, type WorkActor } from './subjects.ts';

/** How long a work item whose handler threw waits before it is delivered again (as on JetStream). */
const FAILED_ITEM_DELAY_MS = 1000;

type Item = {
  seq: number;
  subject: string;
  data: Uint8Array;
  deliveries: number;
  availableAt: number;
  inHand: boolean;
};
type Taker = {
  parallel: number;
  active: number;
  stopped: boolean;
  deliver(item: Item): void;
};

/**
 * The work queue in memory, with the JetStream queue's contract: ids deduplicated, each item to
 * one taker, kept until acknowledged, delivered again (flagged) after a failure or a stop.
 */
export class MemoryWorkQueue implements WorkQueue {
  /** By queue: an actor's shared one, or a site's own (`siteKey`). */
  private readonly items = new Map<string, Item[]>();
  private readonly takers = new Map<string, Taker[]>();
  private readonly seen = new Set<string>();
  private seq = 0;

  async publish(actor: WorkActor, verb: string, item: unknown, id: string, site?: string): Promise<void> {
    if (this.seen.has(id)) return;
    this.seen.add(id);
    const key = queueKey(actor, site);
    this.queue(key).push({
      seq: ++this.seq,
      subject: site === undefined ? commandSubjects.work(actor, verb) : commandSubjects.siteWork(site, verb),
      data: encodeJson(item),
      deliveries: 0,
      availableAt: 0,
      inHand: false,
    });
    this.pump(key);
  }

  async consume<S extends z.ZodType>(
    actor: WorkActor,
    schema: S,
    parallel: number,
    handler: WorkHandler<z.infer<S>>,
    onError: (error: unknown, subject: string) => void,
    site?: string,
  ): Promise<Consumer> {
    const key = queueKey(actor, site);
    const stopping = new AbortController();
    const active = new Set<Promise<void>>();
    const taker: Taker = {
      parallel,
      active: 0,
      stopped: false,
      deliver: (item) => {
        const job = this.handle(key, item, schema, handler, onError, stopping.signal).finally(() => {
          taker.active--;
          active.delete(job);
          this.pump(key);
        });
        active.add(job);
      },
    };
    this.takersOf(key).push(taker);
    this.pump(key);
    return {
      stop: async (graceMs = 2000) => {
        taker.stopped = true;
        this.takers.set(
          key,
          this.takersOf(key).filter((t) => t !== taker),
        );
        const drained = Promise.allSettled(active);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
        stopping.abort();
        await drained;
      },
    };
  }

  private async handle<S extends z.ZodType>(
    actor: string,
    item: Item,
    schema: S,
    handler: WorkHandler<z.infer<S>>,
    onError: (error: unknown, subject: string) => void,
    signal: AbortSignal,
  ) {
    let delivery: Delivery;
    try {
      const decoded = decodeJson(schema, item.subject, item.data);
      // In memory an item is never taken from a taker that holds it: its lease holds.
      delivery = await handler(decoded, {
        redelivered: item.deliveries > 1,
        subject: item.subject,
        signal,
        lease: new AbortController().signal,
      });
      // Cut short by a stop: back to the queue for whoever takes it next.
      if (signal.aborted && delivery.outcome !== 'ack') delivery = { outcome: 'retry', delayMs: 0 };
    } catch (error) {
      onError(error, item.subject);
      delivery =
        error instanceof DecodeError
          ? { outcome: 'drop', reason: error.message }
          : { outcome: 'retry', delayMs: FAILED_ITEM_DELAY_MS };
    }
    item.inHand = false;
    if (delivery.outcome !== 'retry') {
      this.items.set(
        actor,
        this.queue(actor).filter((i) => i !== item),
      );
      return;
    }
    item.availableAt = Date.now() + delivery.delayMs;
    if (delivery.delayMs > 0) setTimeout(() => this.pump(actor), delivery.delayMs).unref();
  }

  /** Items of `actor` not acknowledged yet (queued or in hand). */
  unfinished(actor: WorkActor): number {
    return this.queue(actor).length;
  }

  /** Hands every available item to a taker with room, oldest first, takers in turn. */
  private pump(actor: string): void {
    const now = Date.now();
    for (const item of this.queue(actor)) {
      if (item.inHand || item.availableAt > now) continue;
      const taker = this.takersOf(actor).find((t) => !t.stopped && t.active < t.parallel);
      if (!taker) return;
      // The next item goes to the next taker: replicas share the work.
      this.takers.set(actor, [...this.takersOf(actor).filter((t) => t !== taker), taker]);
      item.inHand = true;
      item.deliveries++;
      taker.active++;
      taker.deliver(item);
    }
  }

  private queue(actor: string): Item[] {
    let q = this.items.get(actor);
    if (!q) this.items.set(actor, (q = []));
    return q;
  }

  private takersOf(actor: string): Taker[] {
    let t = this.takers.get(actor);
    if (!t) this.takers.set(actor, (t = []));
    return t;
  }
}

type Serving = { queue?: string; answer(data: Uint8Array): Promise<Uint8Array> };

/** Requests in memory: queue groups take turns, servers outside a group all answer, first wins. */
export class MemoryRequests implements Requests {
  private readonly servers = new Map<string, Serving[]>();
  private turn = 0;

  async request<S extends z.ZodType>(
    subject: string,
    payload: unknown,
    schema: S,
    timeoutMs: number,
  ): Promise<z.infer<S>> {
    const servers = this.servers.get(subject) ?? [];
    if (servers.length === 0) throw new UnansweredError(subject, 'no server answers this subject');
    const grouped = new Map<string, Serving[]>();
    for (const s of servers.filter((s) => s.queue !== undefined))
      grouped.set(s.queue!, [...(grouped.get(s.queue!) ?? []), s]);
    const chosen = [
      ...servers.filter((s) => s.queue === undefined),
      ...[...grouped.values()].map((group) => group[this.turn++ % group.length]!),
    ];
    const data = encodeJson(payload);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnansweredError(subject, `no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const reply = await Promise.race([Promise.any(chosen.map((s) => s.answer(data))), timeout]);
      return decodeJson(schema, subject, reply);
    } finally {
      clearTimeout(timer);
    }
  }

  serve<S extends z.ZodType>(
    subject: string,
    options: { schema: S; queue?: string; onError: (error: unknown) => unknown },
    handler: (request: z.infer<S>) => Promise<unknown>,
  ): Server {
    const pending = new Set<Promise<unknown>>();
    const serving: Serving = {
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      answer: (data) => {
        const answered = (async () => {
          try {
            return encodeJson(await handler(decodeJson(options.schema, subject, data)));
          } catch (error) {
            return encodeJson(options.onError(error));
          }
        })();
        pending.add(answered);
        void answered.finally(() => pending.delete(answered));
        return answered;
      },
    };
    this.servers.set(subject, [...(this.servers.get(subject) ?? []), serving]);
    return {
      stop: async () => {
        this.servers.set(
          subject,
          (this.servers.get(subject) ?? []).filter((s) => s !== serving),
        );
        await Promise.allSettled(pending);
      },
    };
  }
}

/** Full outputs in memory. */
export class MemoryOutputs implements OutputStore {
  readonly stored = new Map<string, string>();

  async put(name: string, output: string): Promise<string> {
    this.stored.set(name, output);
    return `memory/${name}`;
  }
}

/** File contents in memory. */
export class MemoryContents implements ContentStore {
  readonly stored = new Map<string, Uint8Array>();

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    this.stored.set(hash, bytes);
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    return this.stored.get(hash);
  }
}

/** A queue's key: an actor's shared queue, or a site's own. */
const queueKey = (actor: WorkActor, site: string | undefined): string => (site === undefined ? actor : `site:${site}`);
