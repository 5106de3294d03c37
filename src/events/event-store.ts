import {
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { AppendConflictError } from '../errors.ts';
import { AgentEventSchema, type AgentEvent, type StoredEvent } from './agent-events.ts';
import { decodeJson, encodeJson } from './codec.ts';
import { EVENTS_STREAM, eventSubjects } from './subjects.ts';

export type AppendResult = { seq: number; duplicate: boolean };
export type AppendOptions = {
  /** Optimistic concurrency: the sequence of the last event on this event's subject (0 = none). */
  expectedLastSubjectSequence?: number;
};
export type ReadOptions = { subject?: string; fromSeq?: number };
export type Subscription = { stop(): Promise<void>; done: Promise<void> };

/** Redelivered work re-emits events with the same ids; the window must outlast a crash and restart. */
const DUPLICATE_WINDOW_MS = 30 * 60_000;

/**
 * The event log: AGENT_EVENTS on JetStream. Appends are acknowledged by the server before they
 * resolve, so an event that `append` returned for is stored (and, with replicas, replicated).
 */
export class EventStore {
  private constructor(
    private readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
  ) {}

  static async open(nc: NatsConnection, options: { replicas?: number } = {}): Promise<EventStore> {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, options.replicas ?? 1);
    return new EventStore(jetstream(nc), jsm);
  }

  async append(event: AgentEvent, options: AppendOptions = {}): Promise<AppendResult> {
    const subject = eventSubjects.of(event.runId, event.taskId, event.type);
    const expected = options.expectedLastSubjectSequence;
    try {
      const ack = await this.js.publish(subject, encodeJson(AgentEventSchema.parse(event)), {
        msgID: event.id,
        ...(expected !== undefined ? { expect: { lastSubjectSequence: expected } } : {}),
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (cause) {
      if (
        expected !== undefined &&
        cause instanceof JetStreamApiError &&
        cause.code === JetStreamApiCodes.StreamWrongLastSequence
      ) {
        throw new AppendConflictError(subject, expected, { cause });
      }
      throw cause;
    }
  }

  /** Appends in order with the publishes in flight together (one connection keeps their order). */
  async appendAll(events: readonly AgentEvent[]): Promise<AppendResult[]> {
    return Promise.all(events.map((e) => this.append(e)));
  }

  /** Sequence of the last event stored on a subject, 0 when there is none. */
  async lastSubjectSequence(subject: string): Promise<number> {
    try {
      const msg = await this.jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject });
      return msg?.seq ?? 0;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return 0;
      throw error;
    }
  }

  /** Every stored event matching `subject` (default: all), from `fromSeq`, in stream order. */
  async read(options: ReadOptions = {}): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    await this.scan(options, (e) => {
      events.push(e);
    });
    return events;
  }

  readRun(runId: string): Promise<StoredEvent[]> {
    return this.read({ subject: eventSubjects.run(runId) });
  }

  /**
   * Visits stored events in order without holding them all; returns the last sequence seen. An
   * event that does not decode (a foreign or future writer) goes to `onInvalid` and is skipped.
   */
  async scan(options: ReadOptions & { onInvalid?: (error: Error, seq: number) => void }, visit: (event: StoredEvent) => void): Promise<number> {
    // The last stored sequence on the filter bounds the read. (A consumer's pending count is no
    // bound: nats-server 2.9 sometimes over-counts it, and a read waiting for 0 never ends.)
    const bound = await this.lastSubjectSequence(options.subject ?? eventSubjects.all());
    let last = 0;
    if (bound === 0 || (options.fromSeq ?? 0) > bound) return last;
    const consumer = await this.js.consumers.get(EVENTS_STREAM, orderedOptions(options.subject, options.fromSeq));
    const messages = await consumer.consume({ max_messages: 1000 });
    for await (const m of messages) {
      let event: StoredEvent | undefined;
      try {
        event = toStored(m);
      } catch (error) {
        options.onInvalid?.(error as Error, m.seq);
      }
      if (event) visit(event);
      last = m.seq;
      if (m.seq >= bound) break;
    }
    await messages.close();
    return last;
  }

  /**
   * Follows the log from `from` (a sequence, 'start', or by default only new events) and calls `onEvent` for each, in
   * order. An event that does not decode is passed to `onInvalid` and skipped, never fatal.
   */
  async follow(
    options: { subject?: string; from?: 'start' | 'new' | number | Date; onInvalid?: (error: Error, seq: number) => void },
    onEvent: (event: StoredEvent) => void | Promise<void>,
  ): Promise<Subscription> {
    const from = options.from ?? 'new';
    const consumer = await this.js.consumers.get(
      EVENTS_STREAM,
      from === 'new'
        ? { filter_subjects: options.subject ?? eventSubjects.all(), deliver_policy: DeliverPolicy.New }
        : from instanceof Date
          ? { filter_subjects: options.subject ?? eventSubjects.all(), deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.toISOString() }
          : orderedOptions(options.subject, from === 'start' ? undefined : from),
    );
    const messages = await consumer.consume({ max_messages: 1000 });
    const done = (async () => {
      for await (const m of messages) {
        let event: StoredEvent;
        try {
          event = toStored(m);
        } catch (error) {
          options.onInvalid?.(error as Error, m.seq);
          continue;
        }
        await onEvent(event);
      }
    })();
    return {
      done,
      stop: async () => {
        await messages.close();
        await done;
      },
    };
  }

  /** Number of messages and last sequence of the whole stream. */
  async state(): Promise<{ messages: number; lastSeq: number }> {
    const info = await this.jsm.streams.info(EVENTS_STREAM);
    return { messages: info.state.messages, lastSeq: info.state.last_seq };
  }
}

function orderedOptions(subject: string | undefined, fromSeq: number | undefined) {
  const filter = subject ?? eventSubjects.all();
  if (fromSeq !== undefined && fromSeq > 1) {
    return { filter_subjects: filter, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq };
  }
  return { filter_subjects: filter, deliver_policy: DeliverPolicy.All };
}

function toStored(m: JsMsg): StoredEvent {
  return { ...decodeJson(AgentEventSchema, m.subject, m.data), seq: m.seq };
}

async function ensureStream(jsm: JetStreamManager, replicas: number): Promise<void> {
  const config = {
    name: EVENTS_STREAM,
    subjects: [eventSubjects.all()],
    storage: StorageType.File,
    num_replicas: replicas,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    max_msg_size: 1024 * 1024,
  };
  await ensureStreamConfig(jsm, config);
}

/** Creates a stream unless it exists; tolerates another process creating it at the same moment. */
export async function ensureStreamConfig(
  jsm: JetStreamManager,
  config: Parameters<JetStreamManager['streams']['add']>[0] & { name: string },
): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
  }
  try {
    await jsm.streams.add(config);
  } catch (error) {
    // A concurrent creator won the race: the stream now exists, which is all we need.
    await jsm.streams.info(config.name).catch(() => {
      throw error;
    });
  }
}
