import { runProjection, type RunningProjection } from '../../projections/runner.ts';
import type { TaskHistory } from '../../projections/task-history.ts';
import type { ActorDefinition } from '../actor.ts';
import { historyWrites } from './decide.ts';
import { memoryState } from './state.ts';

/**
 * The memory actor: its core is the task-history projection (`projections/task-history.ts`),
 * which it keeps as the history's one writer. It takes no inputs: it reads the whole event stream
 * in order and writes the history in batches (every N events or T ms); nobody waits on it. The
 * written history carries the sequence of its last event and reading starts just after it, so
 * after a crash each event since the last batch is applied exactly once.
 */
export const memoryActor = (): ActorDefinition<RunningProjection<TaskHistory>> => ({
  name: 'memory',
  open: (rt) =>
    runProjection(rt.store, rt.snapshots, memoryState, {
      ...historyWrites(rt.config.snapshots),
      onError: (error) => rt.log.error('memory: a history write or an event failed; the next batch carries it', error),
    }),
  close: (history) => history.stop(),
});
