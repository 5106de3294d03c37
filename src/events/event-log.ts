import type { AgentEvent, AgentEventType, StoredEvent } from './agent-events.ts';

/**
 * The event log's contract: what actors, projections and commands rely on, whatever stores it.
 * `nats/event-store.ts` keeps it on JetStream; `memory-event-log.ts` in memory, for logic tested
 * without a server. `test/helpers/event-log-contract.ts` runs one suite against both.
 */
export type AppendResult = { seq: number; duplicate: boolean };
export type AppendOptions = {
  /** Optimistic concurrency: the sequence of the last event on this event's subject (0 = none). */
  expectedLastSubjectSequence?: number;
};
/** How long an append is retried: by default within a request's budget; for an actor's effects, while it runs. */
export type AppendAllOptions = {
  /** Retried while transient until this aborts (no budget): the host's append effect. */
  whileRunning?: AbortSignal;
  onRetry?: (error: unknown, attempt: number) => void;
};
/** `toSeq`: the last sequence to read (inclusive), so reads of several subjects end at one point. */
export type ReadOptions = { subject?: string; fromSeq?: number; toSeq?: number };
export type FollowOptions = {
  subject?: string;
  /** A sequence, 'start', a time, or by default only events appended from now on. */
  from?: 'start' | 'new' | number | Date;
  onInvalid?: (error: Error, seq: number) => void;
  /** Only events of these types are decoded and handed on; the others are passed over unread. */
  types?: ReadonlySet<AgentEventType>;
  /** Called with each sequence on the subject once its event (if handed on) is handled: how far the follower is. */
  onPassed?: (seq: number) => void;
};
export type Subscription = { stop(): Promise<void>; done: Promise<void> };

export interface EventLog {
  /**
   * Stores the event on its subject (eventSubjects.of) once: an event whose id is already stored
   * is acknowledged as a duplicate with the first copy's sequence. An event that does not match
   * its schema is refused; a failed expectation throws AppendConflictError.
   */
  append(event: AgentEvent, options?: AppendOptions): Promise<AppendResult>;
  /** Appends in order. */
  appendAll(events: readonly AgentEvent[], options?: AppendAllOptions): Promise<AppendResult[]>;
  /** Sequence of the last event stored on a subject (wildcards allowed), 0 when there is none. */
  lastSubjectSequence(subject: string): Promise<number>;
  /**
   * The last event stored on a subject (wildcards allowed), undefined when there is none; one
   * request on JetStream, where `read` takes one per event. Throws DecodeError when it does not decode.
   */
  lastEvent(subject: string): Promise<StoredEvent | undefined>;
  /** Every stored event matching `subject` (default: all), from `fromSeq`, in order. */
  read(options?: ReadOptions): Promise<StoredEvent[]>;
  readRun(runId: string): Promise<StoredEvent[]>;
  /** Visits stored events in order; returns the last sequence seen. Undecodable ones go to `onInvalid`. */
  scan(
    options: ReadOptions & { onInvalid?: (error: Error, seq: number) => void },
    visit: (event: StoredEvent) => void,
  ): Promise<number>;
  /** Calls `onEvent` for each event from `from` on, in order, live, until stopped. */
  follow(options: FollowOptions, onEvent: (event: StoredEvent) => void | Promise<void>): Promise<Subscription>;
  /** Number of events and last sequence of the whole log. */
  state(): Promise<{ messages: number; lastSeq: number }>;
}

/** NATS subject matching: `*` is one token, `>` one or more at the end. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}
