import { runProjection } from '../../projections/runner.ts';
import { taskHistoryProjection } from '../../projections/task-history.ts';
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
  const history = await runProjection(rt.store, rt.snapshots, taskHistoryProjection, {
    everyEvents: options.flushEvery ?? rt.config.snapshots.everyEvents,
    // Memory is read back as planning context, so it is written at least every second.
    everyMs: options.flushMs ?? Math.min(1000, rt.config.snapshots.everyMs),
    onError: (error) => rt.log.error('memory: a history write or an event failed; the next batch carries it', error),
  });
  return { state: () => history.state(), stop: () => history.stop() };
}
