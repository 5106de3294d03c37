import { isTaskTerminal, type StoredEvent } from '../../events/agent-events.ts';
import { sinceReopened } from '../../projections/attempts.ts';

/**
 * What the decomposer knows of a task when it takes a plan item: its events so far. Its plan
 * cache (src/projections/plan-cache.ts) is the state it keeps between items.
 */

/**
 * Its decomposer died after planning (or the task ran): plan nothing, and call no LLM, twice. A
 * skipped task not answered yet is answered (its planning cancelled): its run waits for that.
 */
export function alreadyPlanned(taskEvents: readonly StoredEvent[], revision: number): boolean {
  // A task reopened by `resume` is planned again only if its plan is invalidated: its earlier outcome is not its own now.
  return taskEvents
    .slice(sinceReopened(taskEvents))
    .some(
      (e) =>
        ((e.type === 'PlanCreated' || e.type === 'PlanCancelled') && e.data.revision === revision) ||
        (isTaskTerminal(e) && e.type !== 'TaskSkipped'),
    );
}
