import { eventSubjects } from '../events/subjects.ts';
import type { Runtime } from './runtime.ts';

/**
 * Why a work item must not be acted on, if it must not: its run is finished or interrupted by
 * the user, or it was issued before the run's latest resume (a newer item replaces it).
 */
export async function staleWork(rt: Runtime, runId: string, generation: number): Promise<string | undefined> {
  let interrupted = false;
  let current = 0;
  for (const e of await rt.store.read({ subject: eventSubjects.runLevel(runId) })) {
    if (e.type === 'RunFinished') return 'the run is finished';
    if (e.type === 'RunInterrupted') interrupted = true;
    if (e.type === 'RunResumed') {
      interrupted = false;
      current = Math.max(current, e.data.generation);
    }
  }
  if (interrupted) return 'the run was interrupted (implement-agent resume continues it)';
  if (generation < current) return `issued before resume ${current}`;
  return undefined;
}
