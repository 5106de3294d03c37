import { describe, expect, it } from 'vitest';
import { decisionEffects } from '../../../src/actors/coordinator/effects.ts';
import { placement } from '../../../src/actors/coordinator/routing.ts';
import { makeEvent } from '../../../src/events/agent-events.ts';
import { eventIds } from '../../../src/events/ids.ts';
import { attemptView, currentAttempts, leftBehind } from '../../../src/projections/attempts.ts';
import { HOME_SITE } from '../../../src/projections/sites.ts';
import { lost, plan, routed, runId, start, statusAfter, stored, taskId } from '../../helpers/one-task-run.ts';

const lostA = lost('a', 0);
const completed = (routeAttempt?: number) =>
  makeEvent(
    'TaskCompleted',
    { runId, taskId, id: eventIds.outcome(runId, taskId, routeAttempt) },
    { durationMs: 1, commands: 1, recoveries: 0, ...(routeAttempt === undefined ? {} : { routeAttempt }) },
  );

describe('a lost attempt routed home', () => {
  it('keeps a first attempt with no live site on the shared queue unrecorded, as before sites', () => {
    expect(placement(statusAfter([]), taskId, [], 0)).toEqual({ kind: 'shared' });
  });

  it('records the attempt after a lost one as a route home, and sends its item to the shared queue carrying it', () => {
    const status = statusAfter([routed('a', 0), lostA]);
    const place = placement(status, taskId, [], 1, ['a'], 'site a was lost');
    expect(place).toMatchObject({
      kind: 'site',
      site: HOME_SITE,
      attempt: 1,
      record: { kind: 'append', events: [{ type: 'TaskRouted', data: { site: HOME_SITE, attempt: 1 } }] },
    });
    if (place.kind !== 'site') throw new Error('not routed');
    const decision = { kind: 'execute' as const, key: 'k', taskId, plan, planEventId: 'p', planInputs: [] };
    const [item] = decisionEffects(
      start,
      { ...decision, revision: 0, generation: 0 },
      { changed: [], now: 0, site: place },
    );
    expect(item).toMatchObject({ kind: 'send', actor: 'executor', item: { route: { site: HOME_SITE, attempt: 1 } } });
    expect(item).not.toHaveProperty('site');
  });

  it('ignores the lost attempt once the home attempt is routed: its late item is left and its late completion not counted', () => {
    const events = stored([routed('a', 0), lostA, routed(HOME_SITE, 1), completed(0), completed(1)]);
    const view = attemptView(events);
    expect(view.current).toEqual({ site: HOME_SITE, attempt: 1 });
    expect(view.outcome?.id).toBe(eventIds.outcome(runId, taskId, 1));
    expect(leftBehind({ site: 'a', attempt: 0 }, view)).toMatch(/superseded by attempt 1 at site @home/);
    // The two runs' outcomes do not share an id: the first stored does not hide the other.
    expect(eventIds.outcome(runId, taskId, 1)).not.toBe(eventIds.outcome(runId, taskId, 0));
    expect(currentAttempts(events).filter((e) => e.type === 'TaskCompleted')).toHaveLength(1);
  });
});
