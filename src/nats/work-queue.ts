import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type * as z from 'zod';
import { DecodeError } from '../errors.ts';
import { decodeJson, encodeJson } from '../events/codec.ts';
import { ensureStreamConfig } from './event-store.ts';
import { pullOptions } from './connection.ts';
import { WORK_STREAM, commandSubjects, consumerNames, workActors, type WorkActor } from '../events/subjects.ts';
import type { Consumer, Delivery, WorkHandler, WorkQueue } from '../events/bus.ts';
import { LeaseLostError } from '../errors.ts';

/**
 * Creates the work queue and one durable consumer per actor kind. `ackWaitMs` is how long an item
 * in the hands of a dead process waits before it is redelivered (the first creator sets it).
 */
export async function ensureWorkStream(
  jsm: JetStreamManager,
  options: { replicas?: number; ackWaitMs?: number } = {},
): Promise<void> {
  const replicas = options.replicas ?? 1;
  await ensureStreamConfig(jsm, {
    name: WORK_STREAM,
    subjects: [...workActors.map((a) => commandSubjects.actorWork(a)), commandSubjects.allSites()],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: replicas,
    duplicate_window: nanos(30 * 60_000),
  });
  // One request each, at once: a run's start-up waits on them.
  await Promise.all(
    workActors.map((a) => ensureConsumer(jsm, consumerNames.work(a), commandSubjects.actorWork(a), options.ackWaitMs)),
  );
}

/** A durable consumer of the work stream, made unless it exists (perhaps by a concurrent process). */
async function ensureConsumer(jsm: JetStreamManager, name: string, filter: string, ackWaitMs = 30_000): Promise<void> {
  try {
    await jsm.consumers.info(WORK_STREAM, name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers
      .add(WORK_STREAM, {
        durable_name: name,
        filter_subject: filter,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ackWaitMs),
        max_deliver: 20,
        max_ack_pending: 1000,
      })
      .catch(async (e: unknown) => {
        // Created by a concurrent process in the meantime: fine.
        await jsm.consumers.info(WORK_STREAM, name).catch(() => {
          throw e;
        });
      });
  }
}

/** The work queue on JetStream: the AGENT_WORK stream and one durable consumer per actor kind. */
export class JetStreamWorkQueue implements WorkQueue {
  constructor(
    private readonly js: JetStreamClient,
    /** Makes a site's consumer the first time one of its executors takes work. */
    private readonly jsm?: JetStreamManager,
    private readonly ackWaitMs?: number,
  ) {}

  /**
   * `id` is the message id: a repeat (a restarted coordinator) is dropped within the duplicate
   * window. With `site`, the item goes to that site's own queue.
   */
  async publish(actor: WorkActor, verb: string, item: unknown, id: string, site?: string): Promise<void> {
    const subject = site === undefined ? commandSubjects.work(actor, verb) : commandSubjects.siteWork(site, verb);
    await this.js.publish(subject, encodeJson(item), { msgID: id });
  }

  /**
   * Takes work items for `actor` from the shared durable consumer (so replicas in other processes
   * share the work, each item to one of them), at most `parallel` at a time. While a handler runs,
   * the item is kept alive with `working()`; a crash leaves it unacknowledged, and it is redelivered.
   */
  async consume<S extends z.ZodType>(
    actor: WorkActor,
    schema: S,
    parallel: number,
    handler: WorkHandler<z.infer<S>>,
    onError: (error: unknown, subject: string) => void,
    site?: string,
  ): Promise<Consumer> {
    if (site !== undefined && this.jsm)
      await ensureConsumer(this.jsm, consumerNames.site(site), commandSubjects.siteQueue(site), this.ackWaitMs);
    const name = site === undefined ? consumerNames.work(actor) : consumerNames.site(site);
    const consumer = await this.js.consumers.get(WORK_STREAM, name);
    // Keep items alive at a third of the consumer's ack wait, whatever it was created with.
    const ackWaitMs = ((await consumer.info(true)).config.ack_wait ?? 30_000_000_000) / 1_000_000;
    const messages = await consumer.consume(pullOptions(parallel));
    const active = new Set<Promise<void>>();
    // Items this process is working on, by stream sequence: a redelivery of one of them (a keepalive
    // that came late on a loaded machine) must not start it a second time here.
    const inHand = new Set<number>();
    const stopping = new AbortController();
    const loop = (async () => {
      for await (const m of messages) {
        if (inHand.has(m.seq)) {
          m.working();
          continue;
        }
        while (active.size >= parallel) await Promise.race(active);
        const job = handle(m).finally(() => active.delete(job));
        active.add(job);
      }
    })();

    async function handle(m: JsMsg): Promise<void> {
      inHand.add(m.seq);
      // A keepalive that comes after more than the ack wait means this process was frozen: the
      // item may be in another taker's hands by now, so this one records nothing more of it.
      const lease = new AbortController();
      let lastBeat = performance.now();
      const keepAlive = setInterval(() => {
        const now = performance.now();
        if (now - lastBeat > ackWaitMs) lease.abort(new LeaseLostError(m.subject, now - lastBeat, ackWaitMs));
        lastBeat = now;
        if (!lease.signal.aborted) m.working();
      }, ackWaitMs / 3);
      try {
        const item = decodeJson(schema, m.subject, m.data);
        const delivery = await handler(item, {
          redelivered: m.info.redelivered,
          subject: m.subject,
          signal: stopping.signal,
          lease: lease.signal,
        });
        // A handler cut short by shutdown leaves its item to be redelivered to whoever runs next;
        // a lost lease leaves it to whoever holds it now.
        if (lease.signal.aborted) onError(lease.signal.reason, m.subject);
        else if (!stopping.signal.aborted || delivery.outcome === 'ack') settle(m, delivery);
      } catch (error) {
        onError(error, m.subject);
        if (error instanceof DecodeError) m.term(error.message);
        else if (!lease.signal.aborted) m.nak(1000);
      } finally {
        clearInterval(keepAlive);
        inHand.delete(m.seq);
      }
    }

    return {
      stop: async (graceMs = 2000) => {
        await messages.close();
        await loop;
        const drained = Promise.allSettled(active);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
        stopping.abort();
        await drained;
      },
    };
  }
}

function settle(m: JsMsg, delivery: Delivery): void {
  switch (delivery.outcome) {
    case 'ack':
      m.ack();
      return;
    case 'retry':
      m.nak(delivery.delayMs);
      return;
    case 'drop':
      m.term(delivery.reason);
      return;
    default: {
      const never: never = delivery;
      return never;
    }
  }
}
