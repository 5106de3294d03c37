import type { StoredEvent } from '../events/agent-events.ts';
import { unionLength } from './intervals.ts';

export type PlanningTime = {
  /** Time during which at least one task was being planned. */
  planningMs: number;
  /** The part of it during which a command was running too: planning that cost no wall time. */
  hiddenMs: number;
};

/** How much planning a run did, and how much of it ran behind commands instead of before them. */
export function planningTime(events: readonly StoredEvent[]): PlanningTime {
  const planning: [number, number][] = [];
  const commands: [number, number][] = [];
  for (const e of events) {
    if (e.type === 'PlanCreated' && e.data.source !== 'explicit') planning.push([Date.parse(e.at) - e.data.durationMs, Date.parse(e.at)]);
    if (e.type === 'CommandFinished') commands.push([Date.parse(e.data.startedAt), Date.parse(e.data.startedAt) + e.data.durationMs]);
  }
  const planningMs = unionLength(planning);
  // |P ∩ C| = |P| + |C| - |P ∪ C|
  const hiddenMs = Math.max(0, planningMs + unionLength(commands) - unionLength([...planning, ...commands]));
  return { planningMs, hiddenMs };
}
