import type { StoredEvent } from '../events/agent-events.ts';
import { currentAttempts } from '../projections/attempts.ts';
import { changesByTask, type TaskFiles } from './run-changes.ts';

/** A change set to lay over a site's copy, and the completion that makes it due (applied once). */
export type DueChange = TaskFiles & { completion: string };

/**
 * What a site's catch-up applies to its copy, from the run's records read so far (of
 * CHANGE_SET_TYPES, in the order recorded): the change set of each task whose current attempt
 * completed, is not undone since, and did not run at `site` (its view merged into the copy
 * already), unless that completion's is in `applied`. What a superseded attempt records late
 * (its completion, change set or rollback) counts for nothing, as at the home merge.
 */
export function dueChanges(records: readonly StoredEvent[], site: string, applied: ReadonlySet<string>): DueChange[] {
  const current = currentAttempts(records);
  const completions = new Map<string, string>();
  const ranHere = new Set<string>();
  for (const e of current) {
    if (e.taskId === undefined) continue;
    if (e.type === 'TaskCompleted' && !completions.has(e.taskId)) completions.set(e.taskId, e.id);
    if (e.type === 'TaskRouted' && e.data.site === site) ranHere.add(e.taskId);
  }
  return changesByTask(current).flatMap((t) => {
    const completion = completions.get(t.taskId);
    return completion && !t.undone && !ranHere.has(t.taskId) && !applied.has(completion) ? [{ ...t, completion }] : [];
  });
}
