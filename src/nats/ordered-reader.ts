import {
  DeliverPolicy,
  type Consumer,
  type ConsumerMessages,
  type JsMsg,
  type OrderedConsumerOptions,
} from '@nats-io/jetstream';
import { PULL_EXPIRES_MS, pullOptions, type NatsConnection } from './connection.ts';
import { handleInOrder, type ReadStep } from './handle-in-order.ts';
import { jsClient } from './jetstream-domain.ts';
import { retryPolicies } from './retry-policies.ts';
import { retryTransient } from './transient.ts';

/** Where a read begins: a stream sequence or a time. */
export type ReadStart = { seq: number } | { time: Date };
export type OrderedRead = { stop(): Promise<void>; done: Promise<void> };
export type { ReadStep } from './handle-in-order.ts';

/**
 * A reader that heard nothing (no message, no idle heartbeat) for this long replaces its consumer.
 * Heartbeats come every half `expires` while a pull waits, so three are missed first.
 */
const STALL_MS = PULL_EXPIRES_MS * 1.5;

/**
 * Reads `stream` in order, from `start`, through an ordered consumer, handing each message to
 * `onMessage`, one at a time: a handler that returns a promise is waited for before the next
 * message, so the handler sets the pace.
 *
 * Messages come through the consumer's callback, not its async iterator: a message handled in
 * the callback that delivered it costs no promise (the client alone read 20-65% faster so, on
 * this machine). Messages that arrive while an async handler is busy wait in a queue bounded in
 * length (`handleInOrder`).
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
  const reader = new OrderedReader(nc, stream, filter, start, onMessage);
  const done = (async () => {
    while (!reader.stopping() && (await reader.readUntilReplaced()));
  })();
  return {
    done,
    stop: async () => {
      reader.stopped.abort();
      await reader.current?.close();
      await done;
    },
  };
}

/** One ordered read: a consumer at a time, each started just after the last message handled. */
class OrderedReader {
  readonly stopped = new AbortController();
  /** The consumer's messages being read now. */
  current: ConsumerMessages | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
    private readonly filter: string,
    /** Where the next consumer starts. */
    private next: ReadStart,
    private readonly onMessage: (m: JsMsg) => ReadStep | Promise<ReadStep>,
  ) {}

  stopping(): boolean {
    return this.stopped.signal.aborted;
  }

  /**
   * Reads through one consumer until it stalls, pauses for a full queue (true: read on with a new
   * one), or the read ends (false).
   */
  async readUntilReplaced(): Promise<boolean> {
    let lastHeard = Date.now();
    let ending: 'stalled' | 'paused' | undefined;
    // Set once the consumer is open; a pause or an end asked for before then stops it at once.
    const session: { messages?: ConsumerMessages; stopAsked?: boolean } = {};
    const stopMessages = () => {
      session.stopAsked = true;
      session.messages?.stop();
    };
    const handling = handleInOrder(this.onMessage, {
      handled: (m) => {
        this.next = { seq: m.seq + 1 };
        lastHeard = Date.now();
      },
      full: () => {
        ending ??= 'paused';
        stopMessages();
      },
      end: () => {
        this.stopped.abort();
        stopMessages();
      },
    });
    const opened = await this.open(handling.deliver);
    if (!opened) return false;
    const { consumer, messages } = opened;
    session.messages = this.current = messages;
    if (session.stopAsked) messages.stop();
    // The server keeps an ordered consumer for minutes after its reader leaves unless deleted;
    // one on a stopped node cannot be, and is left to expire.
    const deleteConsumer = () =>
      void Promise.resolve()
        .then(() => consumer.delete())
        .catch(() => {});
    // Stopped while the consumer was being made: end its pulls, which would keep the process alive.
    if (this.stopping()) {
      messages.stop();
      deleteConsumer();
      return false;
    }
    void (async () => {
      for await (const status of messages.status()) if (status.type === 'heartbeat') lastHeard = Date.now();
    })();
    const watchdog = setInterval(() => {
      if (!handling.busy() && Date.now() - lastHeard > STALL_MS) {
        ending ??= 'stalled';
        messages.stop();
      }
    }, PULL_EXPIRES_MS / 2);
    let closedWith: void | Error;
    try {
      closedWith = await messages.closed();
      await handling.drained();
    } finally {
      clearInterval(watchdog);
      deleteConsumer();
    }
    if (handling.error()) throw handling.error();
    if (ending === undefined && closedWith instanceof Error && !this.stopping()) throw closedWith;
    // The consumer ended without a stall, a pause or a stop: the connection closed; nothing more comes.
    return ending !== undefined;
  }

  private async open(
    deliver: (m: JsMsg) => void,
  ): Promise<{ consumer: Consumer; messages: ConsumerMessages } | undefined> {
    try {
      return await retryTransient(
        async (timeout) => {
          // The cluster may place the consumer's one replica on a stopped node: that creation is never answered.
          const consumer = await jsClient(this.nc, { timeout }).consumers.get(
            this.stream,
            consumerOptions(this.filter, this.next),
          );
          return { consumer, messages: await consumer.consume({ ...pullOptions(1000), callback: deliver }) };
        },
        retryPolicies.follow,
        { signal: this.stopped.signal },
      );
    } catch (error) {
      if (this.stopping()) return undefined;
      throw error;
    }
  }
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
