import type { StoredEvent } from '../events/agent-events.ts';
import type { EventLog, Subscription } from '../events/event-log.ts';
import type { Projection } from './projection.ts';
import type { Snapshots } from './snapshots.ts';

export type RunningProjection<S> = {
  state(): S;
  lastSeq(): number;
  /** Resolves once the projection has seen every event that was in the log when it started. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
};

export type ProjectionRunOptions<S> = {
  everyEvents: number;
  everyMs: number;
  onError?: (error: unknown) => void;
  /** Per-key mode: only the events on this subject (a run's), snapshotted under the projection's name. */
  subject?: string;
  /**
   * Acts on each event once it is folded (the coordinator decides and performs). The next event
   * waits for it, and a snapshot holds an event only once its `onEvent` succeeded: after a
   * restart, what an event called for and did not get is done again.
   */
  onEvent?: (state: S, event: StoredEvent) => Promise<void>;
};

/**
 * Keeps a projection current: starts from its snapshot (when the version matches), replays only
 * the events after the snapshot's sequence, then follows the log live. Snapshots are written
 * every `everyEvents` events or `everyMs` milliseconds, never per update. Over the whole log by
 * default (one writer per projection); over one subject in per-key mode.
 */
export async function runProjection<S>(
  store: EventLog,
  snapshots: Snapshots,
  projection: Projection<S>,
  options: ProjectionRunOptions<S>,
): Promise<RunningProjection<S>> {
  const snap = await snapshots.load<S>(projection.name);
  const folding = new SnapshottedFold(
    snapshots,
    projection,
    options,
    snap?.version === projection.version ? snap : undefined,
  );
  const target = options.subject ? await store.lastSubjectSequence(options.subject) : (await store.state()).lastSeq;
  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((r) => (markCaughtUp = r));
  if (folding.lastSeq >= target) markCaughtUp();
  const sub: Subscription = await store.follow(
    {
      ...(options.subject ? { subject: options.subject } : {}),
      from: folding.lastSeq + 1,
      // An event this version cannot read is reported and passed over, never waited on.
      onInvalid: (error, seq) => {
        options.onError?.(error);
        folding.lastSeq = Math.max(folding.lastSeq, seq);
        if (seq >= target) markCaughtUp();
      },
    },
    async (event) => {
      await folding.apply(event);
      if (event.seq >= target) markCaughtUp();
    },
  );
  const timer = setInterval(() => void folding.save().catch(options.onError), options.everyMs);
  timer.unref();

  return {
    state: () => folding.state,
    lastSeq: () => folding.lastSeq,
    caughtUp: () => caughtUp,
    stop: async () => {
      clearInterval(timer);
      await sub.stop();
      await folding.save().catch(options.onError);
    },
  };
}

/**
 * A projection's state, folded event by event, and its snapshots. A snapshot holds the state up
 * to the last event whose `onEvent` succeeded. It is copied at that moment (a fold may update its
 * state in place, so copying it whole for every event would cost a copy of every task per event),
 * and written behind: writes go one after another, so an older snapshot never lands after a newer
 * one; a failed write is made good by the next (the state is cumulative).
 */
class SnapshottedFold<S> {
  state: S;
  lastSeq: number;
  private savedSeq: number;
  private sinceSave = 0;
  private failed = false;
  /** An event is being folded and acted on: the state is not one a snapshot may hold until it is done. */
  private applying = false;
  /** A snapshot was asked for while an event was being applied: taken once it is. */
  private due = false;
  private writing = Promise.resolve();

  constructor(
    private readonly snapshots: Snapshots,
    private readonly projection: Projection<S>,
    private readonly options: ProjectionRunOptions<S>,
    snap: { state: S; lastSeq: number } | undefined,
  ) {
    this.state = snap ? snap.state : projection.initialState();
    this.lastSeq = this.savedSeq = snap ? snap.lastSeq : 0;
  }

  save(): Promise<void> {
    if (this.applying) {
      this.due = true;
      return this.writing;
    }
    if (this.failed || this.lastSeq === this.savedSeq) return this.writing;
    const snapshot = {
      version: this.projection.version,
      lastSeq: this.lastSeq,
      at: new Date().toISOString(),
      state: structuredClone(this.state),
    };
    this.sinceSave = 0;
    const written = this.writing.then(async () => {
      await this.snapshots.save(this.projection.name, snapshot);
      this.savedSeq = Math.max(this.savedSeq, snapshot.lastSeq);
    });
    this.writing = written.catch(() => undefined);
    return written;
  }

  async apply(event: StoredEvent): Promise<void> {
    if (event.seq <= this.lastSeq) return;
    this.applying = true;
    this.state = this.projection.evolve(this.state, event);
    this.lastSeq = event.seq;
    if (this.options.onEvent) {
      try {
        await this.options.onEvent(this.state, event);
      } catch (error) {
        this.failed = true;
        this.options.onError?.(error);
      }
    }
    this.applying = false;
    if (this.failed) return;
    if (++this.sinceSave >= this.options.everyEvents || this.due) {
      this.due = false;
      void this.save().catch(this.options.onError);
    }
  }
}
