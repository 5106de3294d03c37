import { AppendConflictError } from '../errors.ts';
import { AgentEventSchema, type AgentEvent, type StoredEvent } from './agent-events.ts';
import {
  subjectMatches,
  type AppendAllOptions,
  type AppendOptions,
  type AppendResult,
  type EventLog,
  type FollowOptions,
  type ReadOptions,
  type Subscription,
} from './event-log.ts';
import { parse } from './codec.ts';
import { eventSubjects } from './subjects.ts';

type Entry = { subject: string; event: StoredEvent; storedAt: number };

/**
 * The event log in memory, with the JetStream store's contract: ids deduplicated, optimistic
 * concurrency per subject, subjects with wildcards, reads and live follows in order. For logic
 * tested without a server; nothing survives the process.
 */
export class MemoryEventLog implements EventLog {
  private readonly entries: Entry[] = [];
  private readonly byId = new Map<string, number>();
  private readonly followers = new Set<(entry: Entry) => void>();

  async append(event: AgentEvent, options: AppendOptions = {}): Promise<AppendResult> {
    const parsed = parse(AgentEventSchema, event);
    const known = this.byId.get(parsed.id);
    if (known !== undefined) return { seq: known, duplicate: true };
    const subject = eventSubjects.of(parsed.runId, parsed.taskId, parsed.type);
    const expected = options.expectedLastSubjectSequence;
    if (expected !== undefined && (await this.lastSubjectSequence(subject)) !== expected)
      throw new AppendConflictError(subject, expected);
    const entry: Entry = { subject, event: { ...parsed, seq: this.entries.length + 1 }, storedAt: Date.now() };
    this.entries.push(entry);
    this.byId.set(parsed.id, entry.event.seq);
    for (const notify of this.followers) notify(entry);
    return { seq: entry.event.seq, duplicate: false };
  }

  async appendAll(events: readonly AgentEvent[], _options?: AppendAllOptions): Promise<AppendResult[]> {
    const results: AppendResult[] = [];
    for (const e of events) results.push(await this.append(e));
    return results;
  }

  async lastSubjectSequence(subject: string): Promise<number> {
    for (let i = this.entries.length - 1; i >= 0; i--)
      if (subjectMatches(subject, this.entries[i]!.subject)) return this.entries[i]!.event.seq;
    return 0;
  }

  async lastEvent(subject: string): Promise<StoredEvent | undefined> {
    for (let i = this.entries.length - 1; i >= 0; i--)
      if (subjectMatches(subject, this.entries[i]!.subject)) return this.entries[i]!.event;
    return undefined;
  }

  async read(options: ReadOptions = {}): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    await this.scan(options, (e) => events.push(e));
    return events;
  }

  readRun(runId: string): Promise<StoredEvent[]> {
    return this.read({ subject: eventSubjects.run(runId) });
  }

  async scan(options: ReadOptions, visit: (event: StoredEvent) => void): Promise<number> {
    const filter = options.subject ?? eventSubjects.all();
    let last = 0;
    for (const e of this.entries.slice(Math.max(0, (options.fromSeq ?? 1) - 1))) {
      if (options.toSeq !== undefined && e.event.seq > options.toSeq) break;
      if (!subjectMatches(filter, e.subject)) continue;
      visit(e.event);
      last = e.event.seq;
    }
    return last;
  }

  async follow(options: FollowOptions, onEvent: (event: StoredEvent) => void | Promise<void>): Promise<Subscription> {
    const filter = options.subject ?? eventSubjects.all();
    const from = options.from ?? 'new';
    const first =
      from === 'new'
        ? this.entries.length + 1
        : from === 'start'
          ? 1
          : from instanceof Date
            ? this.firstStoredAt(from.getTime())
            : from;
    // Deliveries are chained, so a slow handler sees events one at a time and in order.
    let chain = Promise.resolve();
    let stopped = false;
    const deliver = (entry: Entry) => {
      if (stopped || entry.event.seq < first || !subjectMatches(filter, entry.subject)) return;
      chain = chain
        .then(async () => {
          if (stopped) return;
          if (!options.types || options.types.has(entry.event.type)) await onEvent(entry.event);
          options.onPassed?.(entry.event.seq);
        })
        .catch(() => undefined);
    };
    for (const entry of this.entries) deliver(entry);
    this.followers.add(deliver);
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    return {
      done,
      stop: async () => {
        stopped = true;
        this.followers.delete(deliver);
        await chain;
        finish();
      },
    };
  }

  async state(): Promise<{ messages: number; lastSeq: number }> {
    return { messages: this.entries.length, lastSeq: this.entries.length };
  }

  private firstStoredAt(time: number): number {
    return this.entries.find((e) => e.storedAt >= time)?.event.seq ?? this.entries.length + 1;
  }
}
