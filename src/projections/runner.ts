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
  const usable = snap?.version === projection.version;
  let state = usable ? snap.state : projection.initialState();
  let lastSeq = usable ? snap.lastSeq : 0;
  let failed = false;
  let savedSeq = lastSeq;
  let sinceSave = 0;
  /** An event is being folded and acted on: the state is not one a snapshot may hold until it is done. */
  let applying = false;
  let due = false;

  // A snapshot holds the state up to the last event whose `onEvent` succeeded. It is copied at
  // that moment (a fold may update its state in place: copying it whole for every event would
  // make a run quadratic), and written behind: writes go one after another, so an older snapshot
  // never lands after a newer one; a failed write is made good by the next (the state is cumulative).
  let writing = Promise.resolve();
  const save = () => {
    if (applying) {
      due = true;
      return writing;
    }
    if (failed || lastSeq === savedSeq) return writing;
    const snapshot = {
      version: projection.version,
      lastSeq,
      at: new Date().toISOString(),
      state: structuredClone(state),
    };
    sinceSave = 0;
    writing = writing.then(async () => {
      await snapshots.save(projection.name, snapshot);
      savedSeq = Math.max(savedSeq, snapshot.lastSeq);
    });
    const written = writing;
    writing = writing.catch(() => undefined);
    return written;
  };
  const apply = async (event: StoredEvent) => {
    if (event.seq <= lastSeq) return;
    applying = true;
    state = projection.evolve(state, event);
    lastSeq = event.seq;
    if (options.onEvent) {
      try {
        await options.onEvent(state, event);
      } catch (error) {
        failed = true;
        options.onError?.(error);
      }
    }
    applying = false;
    if (failed) return;
    if (++sinceSave >= options.everyEvents || due) {
      due = false;
      void save().catch(options.onError);
    }
  };

  const target = options.subject ? await store.lastSubjectSequence(options.subject) : (await store.state()).lastSeq;
  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((r) => (markCaughtUp = r));
  if (lastSeq >= target) markCaughtUp();
  const sub: Subscription = await store.follow(
    {
      ...(options.subject ? { subject: options.subject } : {}),
      from: lastSeq + 1,
      // An event this version cannot read is reported and passed over, never waited on.
      onInvalid: (error, seq) => {
        options.onError?.(error);
        lastSeq = Math.max(lastSeq, seq);
        if (seq >= target) markCaughtUp();
      },
    },
    async (event) => {
      await apply(event);
      if (event.seq >= target) markCaughtUp();
    },
  );
  const timer = setInterval(() => void save().catch(options.onError), options.everyMs);
  timer.unref();

  return {
    state: () => state,
    lastSeq: () => lastSeq,
    caughtUp: () => caughtUp,
    stop: async () => {
      clearInterval(timer);
      await sub.stop();
      await save().catch(options.onError);
    },
  };
}
