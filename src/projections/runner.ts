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

/**
 * Keeps a projection current: starts from its snapshot (when the version matches), replays only
 * the events after the snapshot's sequence, then follows the log live. Snapshots are written
 * every `everyEvents` events or `everyMs` milliseconds, never per update.
 */
export async function runProjection<S>(
  store: EventLog,
  snapshots: Snapshots,
  projection: Projection<S>,
  options: { everyEvents: number; everyMs: number; onError?: (error: unknown) => void },
): Promise<RunningProjection<S>> {
  const snap = await snapshots.load<S>(projection.name);
  const usable = snap?.version === projection.version;
  let state = usable ? snap.state : projection.initialState();
  let lastSeq = usable ? snap.lastSeq : 0;
  let savedSeq = lastSeq;
  let sinceSave = 0;

  // Writes go one after another, so an older snapshot never lands after a newer one; a failed
  // write is made good by the next (the state is cumulative).
  let writing = Promise.resolve();
  const save = () => {
    writing = writing.then(async () => {
      if (lastSeq === savedSeq) return;
      const at = lastSeq;
      sinceSave = 0;
      await snapshots.save(projection.name, { version: projection.version, lastSeq: at, at: new Date().toISOString(), state });
      savedSeq = at;
    });
    const written = writing;
    writing = writing.catch(() => undefined);
    return written;
  };
  const apply = (event: StoredEvent) => {
    if (event.seq <= lastSeq) return;
    state = projection.evolve(state, event);
    lastSeq = event.seq;
    if (++sinceSave >= options.everyEvents) void save().catch(options.onError);
  };

  const target = (await store.state()).lastSeq;
  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((r) => (markCaughtUp = r));
  if (lastSeq >= target) markCaughtUp();
  const sub: Subscription = await store.follow(
    {
      from: lastSeq + 1,
      // An event this version cannot read is reported and passed over, never waited on.
      onInvalid: (error, seq) => {
        options.onError?.(error);
        lastSeq = Math.max(lastSeq, seq);
        if (seq >= target) markCaughtUp();
      },
    },
    (event) => {
      apply(event);
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
