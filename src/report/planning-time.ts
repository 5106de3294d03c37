import type { StoredEvent } from '../events/agent-events.ts';
import { unionLength } from './intervals.ts';

export type PlanningTime = {
  /** Time during which at least one task was being planned. */
  planningMs: number;
  /** The part of it during which a command was running too: planning that cost no wall time. */
  hiddenMs: number;
};

/** The spans planning time is made of, kept as they come (a follower need not keep the events). */
export class PlanningSpans {
  readonly planning: [number, number][] = [];
  readonly commands: [number, number][] = [];

  see(e: StoredEvent): void {
    if (e.type === 'PlanCreated' && e.data.source !== 'explicit')
      this.planning.push([Date.parse(e.at) - e.data.durationMs, Date.parse(e.at)]);
    if (e.type === 'CommandFinished')
      this.commands.push([Date.parse(e.data.startedAt), Date.parse(e.data.startedAt) + e.data.durationMs]);
  }

  time(): PlanningTime {
    return spansTime(this.planning, this.commands);
  }
}

/** How much planning a run did, and how much of it ran behind commands instead of before them. */
export function planningTime(events: readonly StoredEvent[]): PlanningTime {
  const spans = new PlanningSpans();
  for (const e of events) spans.see(e);
  return spans.time();
}

function spansTime(planning: [number, number][], commands: [number, number][]): PlanningTime {
  const planningMs = unionLength(planning);
  // |P ∩ C| = |P| + |C| - |P ∪ C|
  const hiddenMs = Math.max(0, planningMs + unionLength(commands) - unionLength([...planning, ...commands]));
  return { planningMs, hiddenMs };
}
