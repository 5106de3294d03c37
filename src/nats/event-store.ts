import { inert } from '../inert.ts';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StoredMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { AppendConflictError, ForgedEventError } from '../errors.ts';
import { jsClient, jsManager } from './jetstream-domain.ts';
import { readOrdered, type ReadStart } from './ordered-reader.ts';
import { retryPolicies } from './retry-policies.ts';
import { retryTransient, type RetryContext, type RetryPolicy } from './transient.ts';
import { AgentEventSchema, type AgentEvent, type AgentEventType, type StoredEvent } from '../events/agent-events.ts';
import { decodeJson, encodeJson, parse } from '../events/codec.ts';
import { EVENTS_STREAM, eventSubjects } from '../events/subjects.ts';

import type {
  AppendAllOptions,
  AppendOptions,
  AppendResult,
  EventLog,
  FollowOptions,
  ReadOptions,
  Subscription,
} from '../events/event-log.ts';

/** Redelivered work re-emits events with the same ids; the window must outlast a crash and restart. */
const DUPLICATE_WINDOW_MS = 30 * 60_000;
/**
 * A scan reads up to this many events one request at a time from the stream leader before it
 * opens a consumer for the rest (sooner when the filter is dense, see `scan`). The reads an actor does per task (a task's or a run's few events) thus
 * need no consumer: creating one costs as much as a dozen gets, and in a cluster its single
 * replica may land on a stopped node, which stalls the read for seconds.
 */
const LEADER_READ_LIMIT = 64;

/**
 * The event log: AGENT_EVENTS on JetStream. Appends are acknowledged by the server before they
 * resolve, so an event that `append` returned for is stored (and, with replicas, replicated).
 */
export class EventStore implements EventLog {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
  ) {}

  /** `bind`: the stream was made by another connection (the admin's): no round trip checks it. */
  static async open(nc: NatsConnection, options: { replicas?: number; bind?: boolean } = {}): Promise<EventStore> {
    const jsm = await jsManager(nc, { checkAPI: !options.bind });
    if (!options.bind) await ensureStream(jsm, options.replicas ?? 1);
    return new EventStore(nc, jsClient(nc), jsm);
  }

  async append(event: AgentEvent, options: AppendOptions = {}): Promise<AppendResult> {
    return this.publish(event, options, retryPolicies.request, {});
  }

  private async publish(
    event: AgentEvent,
    options: AppendOptions,
    policy: RetryPolicy,
    context: RetryContext,
  ): Promise<AppendResult> {
    const subject = eventSubjects.of(event.runId, event.taskId, event.type);
    const expected = options.expectedLastSubjectSequence;
    const data = encodeJson(parse(AgentEventSchema, event));
    try {
      // An unanswered publish (a stream leader lost with its node) is sent again: the message id
      // makes a second copy of a stored event a duplicate the server acknowledges, not a new event.
      const ack = await retryTransient(
        (timeout) =>
          this.js.publish(subject, data, {
            msgID: event.id,
            timeout,
            ...(expected !== undefined ? { expect: { lastSubjectSequence: expected } } : {}),
          }),
        policy,
        context,
      );
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
  async appendAll(events: readonly AgentEvent[], options: AppendAllOptions = {}): Promise<AppendResult[]> {
    const { whileRunning, onRetry } = options;
    const [policy, context] = whileRunning
      ? [retryPolicies.append, { stopRetrying: whileRunning, ...(onRetry ? { onRetry } : {}) }]
      : [retryPolicies.request, {}];
    return Promise.all(events.map((e) => this.publish(e, {}, policy, context)));
  }

  /** Sequence of the last event stored on a subject, 0 when there is none. */
  async lastSubjectSequence(subject: string): Promise<number> {
    return (await this.getMessage({ last_by_subj: subject }))?.seq ?? 0;
  }

  /** The last event stored on a subject, in one request. */
  async lastEvent(subject: string): Promise<StoredEvent | undefined> {
    const m = await this.getMessage({ last_by_subj: subject });
    return m
      ? decodeStored(m, (error) => {
          throw error;
        })
      : undefined;
  }

  /** One message from the stream leader (null when none matches), retried through a leader election. */
  private getMessage(
    query: { last_by_subj: string } | { seq: number; next_by_subj: string },
  ): Promise<StoredMsg | null> {
    return retryTransient(async (timeout) => {
      const jsm = await jsManager(this.nc, { timeout, checkAPI: false });
      // nats-server 2.9 answers `next_by_subj`; the client's type for this call does not list it yet.
      return jsm.streams.getMessage(EVENTS_STREAM, query);
    }, retryPolicies.request);
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
  async scan(
    options: ReadOptions & { onInvalid?: (error: Error, seq: number) => void },
    visit: (event: StoredEvent) => void,
  ): Promise<number> {
    const filter = options.subject ?? eventSubjects.all();
    // The last stored sequence on the filter bounds the read. (A consumer's pending count is no
    // bound: nats-server 2.9 sometimes over-counts it, and a read waiting for 0 never ends.)
    const stored = await this.lastSubjectSequence(filter);
    const bound = options.toSeq === undefined ? stored : Math.min(stored, options.toSeq);
    let last = 0;
    const take = (m: StoredMsg | JsMsg): void => {
      const event = decodeStored(m, options.onInvalid);
      if (event) visit(event);
      last = m.seq;
    };
    const from = options.fromSeq ?? 1;
    let seq = from;
    let first = 0;
    for (let i = 0; i < LEADER_READ_LIMIT; i++) {
      if (seq > bound) return last;
      const m = await this.getMessage({ seq, next_by_subj: filter });
      if (!m || m.seq > bound) return last;
      take(m);
      seq = m.seq + 1;
      first ||= m.seq;
      // A dense filter (a run's events in a log of few runs) is seen as such after a few reads:
      // its rest, estimated from the density so far, goes to a consumer at once rather than
      // after the 64 one-at-a-time reads (30 ms of a 20,000-event read).
      if (i >= 3 && i + 1 + ((bound - m.seq) * i) / (m.seq - first) > LEADER_READ_LIMIT) break;
    }
    if (seq > bound) return last;
    // The consumer starts where the scan did and passes over what was visited: nats-server 2.9.10
    // delivered 20,000 events on 50 subjects in 7.3 s from sequence 65 against 0.15 s from 1.
    const resume = seq;
    const read = readOrdered(this.nc, EVENTS_STREAM, filter, { seq: from }, (m) => {
      if (m.seq < resume) return undefined;
      if (m.seq > bound) return 'stop';
      take(m);
      return m.seq >= bound ? 'stop' : undefined;
    });
    await read.done;
    return last;
  }

  /**
   * Follows the log from `from` (a sequence, 'start', a time, or by default only new events) and
   * calls `onEvent` for each, in order. An event that does not decode is passed to `onInvalid`
   * and skipped, never fatal.
   */
  async follow(options: FollowOptions, onEvent: (event: StoredEvent) => void | Promise<void>): Promise<Subscription> {
    const from = options.from ?? 'new';
    // 'new' is pinned to a sequence now, so a reader that restarts its consumer later leaves no gap.
    const start: ReadStart =
      from === 'new'
        ? { seq: (await this.state()).lastSeq + 1 }
        : from === 'start'
          ? { seq: 1 }
          : from instanceof Date
            ? { time: from }
            : { seq: from };
    const { types, onPassed } = options;
    const read = readOrdered(this.nc, EVENTS_STREAM, options.subject ?? eventSubjects.all(), start, (m) => {
      // The type is the subject's last token (eventSubjects.of): what is not wanted is not decoded.
      const wanted = !types || types.has(lastToken(m.subject) as AgentEventType);
      const event = wanted ? decodeStored(m, options.onInvalid) : undefined;
      const handled = event ? onEvent(event) : undefined;
      if (!onPassed) return handled;
      // Synchronous handlers stay synchronous: a promise per event is a cost every follower would pay.
      if (handled instanceof Promise) return handled.then(() => onPassed(m.seq));
      onPassed(m.seq);
      return undefined;
    });
    return read;
  }

  /** Number of messages and last sequence of the whole stream. */
  async state(): Promise<{ messages: number; lastSeq: number }> {
    const info = await this.jsm.streams.info(EVENTS_STREAM);
    return { messages: info.state.messages, lastSeq: info.state.last_seq };
  }
}

const lastToken = (subject: string): string => subject.slice(subject.lastIndexOf('.') + 1);

/**
 * The stored event in `m`, or undefined (reported to `onInvalid`) when it does not decode or its
 * envelope disagrees with its subject. The server checks who may publish on a subject, not what
 * the body says: an event is believed only where its subject (type, run, task) is its own, so a
 * publisher allowed `CommandFinished` cannot pass a `TaskCompleted` to the folds and the tick.
 */
function decodeStored(
  m: { subject: string; data: Uint8Array; seq: number },
  onInvalid?: (error: Error, seq: number) => void,
): StoredEvent | undefined {
  try {
    const event = decodeJson(AgentEventSchema, m.subject, m.data);
    const own = eventSubjects.of(event.runId, event.taskId, event.type);
    if (own !== m.subject) throw new ForgedEventError(m.subject, own, m.seq);
    // The decoded object is new (zod builds it): the sequence is added to it, not to a copy.
    return Object.assign(event, { seq: m.seq });
  } catch (error) {
    if (error instanceof ForgedEventError) warnForgedOnce(error);
    onInvalid?.(error as Error, m.seq);
    return undefined;
  }
}

let warnedForged = false;
function warnForgedOnce(error: ForgedEventError): void {
  if (warnedForged) return;
  warnedForged = true;
  process.stderr.write(
    `implement-agent: warning: ${inert(error.message, true)} (further ones are dropped without a word)\n`,
  );
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
