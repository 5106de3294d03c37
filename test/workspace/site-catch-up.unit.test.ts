import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../src/events/agent-events.ts';
import { dueChanges } from '../../src/workspace/site-catch-up.ts';
import { completed, filesChanged, newFile, reopened, rolledBack, routed, stored } from '../helpers/attempt-records.ts';

/**
 * What a site's catch-up lays over its copy (#40), from the run's records it read: a task
 * routed again once its site was taken for dead has one change set, its current attempt's. Before
 * the catch-up read the routes, a superseded attempt's late completion counted as the task's, its
 * late change set was applied, and its late rollback kept the current one's out of the copy.
 */
const west = newFile('west.txt', 'west\n').file;
const east = newFile('east.txt', 'east\n').file;
const due = (events: AgentEvent[], site = 'north', applied: string[] = []) =>
  dueChanges(stored(events), site, new Set(applied)).map((t) => ({
    taskId: t.taskId,
    paths: t.files.map((f) => f.path),
    completion: t.completion,
  }));

describe("a site's catch-up: what it applies to its copy", () => {
  it("applies nothing for a superseded attempt's late completion, then the current attempt's change set alone", () => {
    const lost = [routed('1', 'west', 0), filesChanged('1', 0, [west]), routed('1', 'east', 1), completed('1', 0)];
    expect(due(lost)).toEqual([]);
    const current = completed('1', 1);
    expect(due([...lost, filesChanged('1', 1, [east]), current])).toEqual([
      { taskId: '1', paths: ['east.txt'], completion: current.id },
    ]);
  });

  it("applies the current attempt's change set whatever the superseded one records after it (its change set, its rollback)", () => {
    const current = completed('1', 1);
    const events = [
      routed('1', 'west', 0),
      routed('1', 'east', 1),
      filesChanged('1', 1, [east]),
      current,
      filesChanged('1', 0, [west]),
      rolledBack('1', 0),
    ];
    expect(due(events)).toEqual([{ taskId: '1', paths: ['east.txt'], completion: current.id }]);
  });

  it('leaves out a task whose current attempt ran at this site (merged into the copy), not one whose superseded attempt did', () => {
    const current = completed('1', 1);
    const events = [routed('1', 'north', 0), routed('1', 'east', 1), filesChanged('1', 1, [east]), current];
    expect(due(events, 'east')).toEqual([]);
    expect(due(events, 'north')).toEqual([{ taskId: '1', paths: ['east.txt'], completion: current.id }]);
  });

  it("counts the outcome the run counts when the task was routed again after it: that attempt's change set", () => {
    const outcome = completed('1', 0);
    const events = [routed('1', 'west', 0), filesChanged('1', 0, [west]), outcome, routed('1', 'east', 1)];
    expect(due(events)).toEqual([{ taskId: '1', paths: ['west.txt'], completion: outcome.id }]);
  });

  it("applies a completion's change set once, and a reopened task's next one over it", () => {
    const first = completed('1', 0);
    const events = [routed('1', 'west', 0), filesChanged('1', 0, [west]), first];
    expect(due(events, 'north', [first.id])).toEqual([]);
    const again = completed('1', 0, 1);
    const reopenedRun = [reopened('1', 1), routed('1', 'east', 0, 1), filesChanged('1', 0, [east], 1), again];
    expect(due([...events, ...reopenedRun], 'north', [first.id])).toEqual([
      { taskId: '1', paths: ['east.txt'], completion: again.id },
    ]);
  });

  it('applies the tasks due in the order their change sets were recorded, a task never routed among them', () => {
    const events = [routed('2', 'west', 0), filesChanged('2', 0, [west]), filesChanged('3', 0, [east])];
    const two = completed('2', 0);
    const three = completed('3', 0);
    expect(due([...events, three, two]).map((t) => t.taskId)).toEqual(['2', '3']);
  });
});
