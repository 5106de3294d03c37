import { describe, expect, it } from 'vitest';
import { isTaskTerminal, makeEvent, type StoredEvent } from '../../src/events/agent-events.ts';
import { attemptView, currentAttempts } from '../../src/projections/attempts.ts';
import {
  completed,
  filesChanged,
  newFile,
  reopened,
  rolledBack,
  routed,
  runId,
  stored,
} from '../helpers/attempt-records.ts';

/**
 * Each task's current attempt's records (#40): a task whose site is taken for dead is routed
 * again, and what the superseded attempt records late is not the task's. The home merge and a
 * site's catch-up read change sets through this one filter.
 */
const a = newFile('a.txt', 'west\n').file;
const b = newFile('b.txt', 'east\n').file;
const ids = (events: readonly StoredEvent[]) => events.map((e) => e.id);

describe("each task's current attempt's records", () => {
  it("keeps every record of a task never routed, and the run's own records", () => {
    const events = stored([
      makeEvent('RunResumed', { runId }, { generation: 1 }),
      filesChanged('1', 0, [a]),
      completed('1', 0),
    ]);
    expect(currentAttempts(events)).toEqual(events);
  });

  it("leaves out a superseded attempt's late change set, rollback and completion, and keeps the current attempt's from its route on", () => {
    const events = stored([
      routed('1', 'west', 0),
      filesChanged('1', 0, [a]),
      routed('1', 'east', 1),
      filesChanged('1', 0, [a], 1),
      rolledBack('1', 0),
      completed('1', 0),
      filesChanged('1', 1, [b]),
      completed('1', 1),
    ]);
    expect(ids(currentAttempts(events))).toEqual(ids([events[2]!, events[6]!, events[7]!]));
  });

  it("keeps each task's own current attempt, whatever the other tasks' routes", () => {
    const events = stored([routed('1', 'west', 0), routed('2', 'west', 0), routed('1', 'east', 1), completed('2', 0)]);
    expect(ids(currentAttempts(events))).toEqual(ids([events[1]!, events[2]!, events[3]!]));
  });

  it("starts nothing with a route recorded after the task's outcome: the run counts that outcome, the executor leaves the route", () => {
    const events = stored([
      routed('1', 'west', 0),
      filesChanged('1', 0, [a]),
      completed('1', 0),
      routed('1', 'east', 1),
    ]);
    expect(ids(currentAttempts(events))).toEqual(ids(events.slice(0, 3)));
  });

  it('keeps of a reopened task only its route since and what that attempt recorded', () => {
    const events = stored([
      routed('1', 'west', 0),
      filesChanged('1', 0, [a]),
      completed('1', 0),
      reopened('1', 1),
      routed('1', 'east', 0, 1),
      filesChanged('1', 0, [b], 1),
      completed('1', 0, 1),
    ]);
    expect(ids(currentAttempts(events))).toEqual(ids(events.slice(4)));
    // Reopened and not routed yet: nothing of its earlier attempts is its own.
    expect(ids(currentAttempts(events.slice(0, 4)))).toEqual(ids([events[3]!]));
  });

  it('keeps as its first outcome the one the run counts (attemptView), and is the same filtered again', () => {
    const scenarios = [
      [routed('1', 'west', 0), routed('1', 'east', 1), completed('1', 0), completed('1', 1)],
      [routed('1', 'west', 0), completed('1', 0), routed('1', 'east', 1), completed('1', 1)],
      [routed('1', 'west', 0), completed('1', 0), reopened('1', 1), routed('1', 'east', 0, 1), completed('1', 0, 1)],
    ].map(stored);
    for (const events of scenarios) {
      const kept = currentAttempts(events);
      expect(kept.find(isTaskTerminal)).toBe(attemptView(events).outcome);
      expect(currentAttempts(kept)).toEqual(kept);
    }
  });
});
