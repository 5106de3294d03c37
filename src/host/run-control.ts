import type { StoredEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import type { Runtime } from '../actors/actor.ts';

/** The run-level events that can make work stale. */
const CONTROL_TYPES = ['RunFinished', 'RunInterrupted', 'RunResumed'] as const;

/**
 * Why a work item must not be acted on, if it must not: its run is finished or interrupted by
 * the user, or it was issued before the run's latest resume (a newer item replaces it).
 */
export async function staleWork(rt: Runtime, runId: string, generation: number): Promise<string | undefined> {
  // Most work belongs to a run never finished, interrupted or resumed: one round of requests says so.
  const control = await Promise.all(
    CONTROL_TYPES.map((type) => rt.store.lastSubjectSequence(eventSubjects.of(runId, undefined, type))),
  );
  if (control.every((seq) => seq === 0)) return undefined;
  return staleReason(await rt.store.read({ subject: eventSubjects.runLevel(runId) }), generation);
}

/** Why work of `generation` is stale, from its run's run-level events. */
export function staleReason(runLevel: readonly StoredEvent[], generation: number): string | undefined {
  let interrupted = false;
  let finished = false;
  let current = 0;
  for (const e of runLevel) {
    if (e.type === 'RunFinished') finished = true;
    if (e.type === 'RunInterrupted') interrupted = true;
    // After RunFinished, only a `resume` that reopened tasks of the run (TaskReopened) records one.
    if (e.type === 'RunResumed') {
      interrupted = false;
      finished = false;
      current = Math.max(current, e.data.generation);
    }
  }
  if (finished) return 'the run is finished';
  if (interrupted) return 'the run was interrupted (implement-agent resume continues it)';
  if (generation < current) return `issued before resume ${current}`;
  return undefined;
}
