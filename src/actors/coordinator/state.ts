import type { StoredEvent } from '../../events/agent-events.ts';
import { runStatusProjection } from '../../projections/run-status.ts';

/**
 * What the coordinator decides on: a run's status, the fold of its events (initial + evolve), kept
 * as the run-status projection (src/projections/run-status.ts) that `replay` and the CLI read too.
 */
export const coordinatorState = runStatusProjection;

/** What the run-level events say about taking the run up: not started yet, or left interrupted. */
export function runStage(runLevel: readonly StoredEvent[]): 'new' | 'interrupted' | 'under-way' {
  if (!runLevel.some((e) => e.type === 'RunStarted')) return 'new';
  const lastOf = (type: 'RunInterrupted' | 'RunResumed') =>
    Math.max(0, ...runLevel.filter((e) => e.type === type).map((e) => e.seq));
  return lastOf('RunInterrupted') > lastOf('RunResumed') ? 'interrupted' : 'under-way';
}
