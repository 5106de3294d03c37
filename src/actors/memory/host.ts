import { TASK_HISTORY, evolveTaskHistory, initialTaskHistory, type TaskHistory } from '../../projections/task-history.ts';
import type { Runtime } from '../runtime.ts';

export type MemoryOptions = { flushEvery?: number; flushMs?: number };

/**
 * The memory actor: reads the whole event stream in order and folds what was learned into the
 * task history, written in batches (every N events or T ms). Nobody waits on it. The written
 * history carries the sequence of its last event, and reading starts just after it: after a crash
 * the events since the last written batch come again, in order, and each is applied exactly once.
 * One memory actor runs at a time: it is the history's writer.
 */
export async function startMemory(rt: Runtime, options: MemoryOptions = {}) {
  const flushEvery = options.flushEvery ?? rt.config.snapshots.everyEvents;
  // Memory is read back as planning context, so it is written at least every second.
  const flushMs = options.flushMs ?? Math.min(1000, rt.config.snapshots.everyMs);
  const snapshot = await rt.snapshots.load<TaskHistory>(TASK_HISTORY.name);
  let state = snapshot?.version === TASK_HISTORY.version ? snapshot.state : initialTaskHistory();
  let lastApplied = snapshot?.version === TASK_HISTORY.version ? snapshot.lastSeq : 0;
  // Sequences of the last event in a written history, and in one whose write is under way.
  let writtenSeq = lastApplied;
  let queuedSeq = lastApplied;
  let sinceQueued = 0;
  let writing = Promise.resolve();

  const flush = () => {
    if (lastApplied === queuedSeq) return writing;
    const snap = { version: TASK_HISTORY.version, lastSeq: lastApplied, at: new Date().toISOString(), state };
    queuedSeq = lastApplied;
    sinceQueued = 0;
    writing = writing
      .then(() => rt.snapshots.save(TASK_HISTORY.name, snap))
      .then(() => void (writtenSeq = Math.max(writtenSeq, snap.lastSeq)))
      .catch((error: unknown) => {
        // The state is cumulative: the next write (at the latest on the timer) carries these events.
        queuedSeq = writtenSeq;
        rt.log.error('memory: history write failed; it is written again with the next batch', error);
      });
    return writing;
  };
  const timer = setInterval(() => void flush(), flushMs);

  const reading = await rt.store.follow(
    {
      from: lastApplied + 1,
      onInvalid: (error, seq) => {
        rt.log.warn(`memory: skipping undecodable event ${seq}: ${error.message}`);
        lastApplied = seq;
      },
    },
    (event) => {
      state = evolveTaskHistory(state, event);
      lastApplied = event.seq;
      if (++sinceQueued >= flushEvery) void flush();
    },
  );

  return {
    state: () => state,
    stop: async () => {
      clearInterval(timer);
      await reading.stop();
      await flush();
    },
  };
}
