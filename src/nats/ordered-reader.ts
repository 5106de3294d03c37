import {
  DeliverPolicy,
  jetstream,
  type Consumer,
  type ConsumerMessages,
  type JsMsg,
  type OrderedConsumerOptions,
} from '@nats-io/jetstream';
import { PULL_EXPIRES_MS, pullOptions, type NatsConnection } from './connection.ts';
import { retryTransient } from './transient.ts';

/** Where a read begins: a stream sequence or a time. */
export type ReadStart = { seq: number } | { time: Date };
export type OrderedRead = { stop(): Promise<void>; done: Promise<void> };
/** What a message handler says: go on, or end the read. */
export type ReadStep = void | 'stop';

/**
 * A reader that heard nothing (no message, no idle heartbeat) for this long replaces its consumer.
 * Heartbeats come every half `expires` while a pull waits, so three are missed first.
 */
const STALL_MS = PULL_EXPIRES_MS * 1.5;

/**
 * Reads `stream` in order, from `start`, through an ordered consumer, handing each message to
 * `onMessage` (awaited, so the handler sets the pace).
 *
 * Why not the library's ordered consumer alone: it recreates its consumer only when the server
 * says the consumer is gone. An ordered consumer has one replica; when the cluster node holding it
 * stops, the server answers "consumer is offline" for ever and the read stalls silently. So this
 * reader watches for silence and then starts a new ordered consumer just after the last message it
 * handled; a restart is therefore invisible to the handler (no gap, no repeat). Creating a
 * consumer is retried while the cluster elects leaders or the connection is down; a missing stream
 * or a denied permission ends the read with that error.
 */
export function readOrdered(
  nc: NatsConnection,
  stream: string,
  filter: string,
  start: ReadStart,
  onMessage: (m: JsMsg) => ReadStep | Promise<ReadStep>,
): OrderedRead {
  let next: ReadStart = start;
  const stopped = new AbortController();
  const stopping = () => stopped.signal.aborted;
  let current: ConsumerMessages | undefined;

  const open = async (): Promise<{ consumer: Consumer; messages: ConsumerMessages } | undefined> => {
    try {
      // No budget: a reader waits for the cluster or the connection as long as it is not stopped.
      return await retryTransient(
        async (timeout) => {
          // The cluster may place the consumer's one replica on a stopped node: that creation is never answered.
          const consumer = await jetstream(nc, { timeout }).consumers.get(stream, consumerOptions(filter, next));
          return { consumer, messages: await consumer.consume(pullOptions(1000)) };
        },
        { budgetMs: Infinity, signal: stopped.signal },
      );
    } catch (error) {
      if (stopping()) return undefined;
      throw error;
    }
  };

  const done = (async () => {
    while (!stopping()) {
      const opened = await open();
      if (!opened) return;
      const { consumer, messages } = opened;
      current = messages;
      // The server keeps an ordered consumer for minutes after its reader leaves unless deleted;
      // one on a stopped node cannot be, and is left to expire.
      const deleteConsumer = () =>
        void Promise.resolve()
          .then(() => consumer.delete())
          .catch(() => {});
      // Stopped while the consumer was being made: end its pulls, which would keep the process
      // alive. (`close()` waits for an iteration that will never start.)
      if (stopping()) {
        messages.stop();
        deleteConsumer();
        break;
      }
      let lastHeard = Date.now();
      let busy = false;
      let stalled = false;
      void (async () => {
        for await (const status of messages.status()) if (status.type === 'heartbeat') lastHeard = Date.now();
      })();
      const watchdog = setInterval(() => {
        if (!busy && Date.now() - lastHeard > STALL_MS) {
          stalled = true;
          messages.stop();
        }
      }, PULL_EXPIRES_MS / 2);
      try {
        for await (const m of messages) {
          next = { seq: m.seq + 1 };
          busy = true;
          const step = await onMessage(m);
          busy = false;
          lastHeard = Date.now();
          if (step === 'stop') {
            stopped.abort();
            break;
          }
        }
      } finally {
        clearInterval(watchdog);
        await messages.close();
        deleteConsumer();
      }
      // The consumer ended without a stall or a stop: the connection closed; nothing more comes.
      if (!stalled) return;
    }
  })();

  return {
    done,
    stop: async () => {
      stopped.abort();
      await current?.close();
      await done;
    },
  };
}

function consumerOptions(filter: string, start: ReadStart): Partial<OrderedConsumerOptions> {
  if ('time' in start)
    return {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: start.time.toISOString(),
    };
  if (start.seq > 1)
    return { filter_subjects: filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq };
  return { filter_subjects: filter, deliver_policy: DeliverPolicy.All };
}
