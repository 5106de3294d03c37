import { describe, expect, it } from 'vitest';
import { lostAttempt } from '../../src/actors/coordinator/routing.ts';
import { makeEvent } from '../../src/events/agent-events.ts';
import { attemptView, leftBeforeStart, leftBehind, recordedLost } from '../../src/projections/attempts.ts';
import { isDead, type Site } from '../../src/projections/sites.ts';
import { lost, routed, runId, statusAfter, stored, taskId } from '../helpers/one-task-run.ts';

const started = (site: string, routeAttempt: number) =>
  makeEvent(
    'CommandStarted',
    { runId, taskId },
    { commandId: 'c1', command: 'sleep 1', attempt: routeAttempt, purpose: 'plan', site, routeAttempt },
  );
const completed = (routeAttempt: number) =>
  makeEvent('TaskCompleted', { runId, taskId }, { durationMs: 1, commands: 1, recoveries: 0, routeAttempt });
describe('a site lost mid-task', () => {
  it('takes a known site silent for three beats for dead, once watched for as long', () => {
    const site: Site = { site: 'a', labels: [], slots: 1, host: 'h', pid: 1, intervalMs: 1_000, lastSeenMs: 1_000 };
    expect(isDead(site, 3_999, 0)).toBe(false);
    expect(isDead(site, 4_000, 0)).toBe(true);
    // A watcher started a moment ago may not have read the site's latest beats yet.
    expect(isDead(site, 4_000, 2_000)).toBe(false);
    expect(isDead(undefined, 10_000, 0)).toBe(false);
  });

  it('records the current attempt of an unfinished task at a dead site as lost, once, and nothing for a live site or a finished task', () => {
    const running = statusAfter([routed('a', 0), started('a', 0)]);
    const effect = lostAttempt(running, taskId, { site: 'a', attempt: 0 }, (s) => s === 'a');
    expect(effect).toMatchObject({
      kind: 'append',
      events: [{ type: 'TaskAttemptLost', data: { site: 'a', attempt: 0, reason: 'site-dead' } }],
    });
    expect(lostAttempt(running, taskId, { site: 'a', attempt: 0 }, () => false)).toBeUndefined();
    const done = statusAfter([routed('a', 0), started('a', 0), completed(0)]);
    expect(lostAttempt(done, taskId, { site: 'a', attempt: 0 }, () => true)).toBeUndefined();
    // Routed again since: the old attempt is no longer the task's.
    const again = statusAfter([routed('a', 0), routed('b', 1)]);
    expect(lostAttempt(again, taskId, { site: 'a', attempt: 0 }, () => true)).toBeUndefined();
  });

  it('folds a lost attempt back to planned, not failed, and takes only the current attempt’s outcome', () => {
    const rerouted = statusAfter([routed('a', 0), started('a', 0), lost('a', 0), routed('b', 1)]);
    expect(rerouted.tasks[taskId]).toMatchObject({ state: 'planned', started: false, site: 'b', attempt: 1 });
    // The dead site wakes and records its attempt's commands and outcome: none of it counts.
    const late = statusAfter([
      routed('a', 0),
      started('a', 0),
      lost('a', 0),
      routed('b', 1),
      started('a', 0),
      completed(0),
    ]);
    expect(late.tasks[taskId]).toMatchObject({ state: 'planned', started: false, site: 'b' });
    const current = statusAfter([
      routed('a', 0),
      lost('a', 0),
      routed('b', 1),
      completed(0),
      started('b', 1),
      completed(1),
    ]);
    expect(current.tasks[taskId]).toMatchObject({ state: 'completed', site: 'b' });
  });

  it('has an executor leave an item of a superseded attempt, and not run a task whose outcome the run took', () => {
    const events = stored([routed('a', 0), started('a', 0), lost('a', 0), routed('b', 1)]);
    const view = attemptView(events);
    expect(view).toMatchObject({ current: { site: 'b', attempt: 1 }, since: 4 });
    expect(view.outcome).toBeUndefined();
    expect(leftBehind({ site: 'a', attempt: 0 }, view)).toBe(
      'attempt 0 at site a was superseded by attempt 1 at site b',
    );
    expect(leftBehind({ site: 'b', attempt: 1 }, view)).toBeUndefined();
    expect(leftBehind(undefined, view)).toBeUndefined();
    // A late outcome of attempt 0 is not the task's; one recorded before the reroute is.
    expect(attemptView(stored([...events, completed(0)])).outcome).toBeUndefined();
    expect(attemptView(stored([routed('a', 0), completed(0), routed('b', 1)])).outcome?.type).toBe('TaskCompleted');
  });

  it('has an executor leave an item of an attempt recorded lost, before the task is routed again', () => {
    // The site comes back and takes its queued item while the coordinator has not yet routed the task again.
    const events = stored([routed('a', 0), lost('a', 0)]);
    const view = attemptView(events);
    expect(leftBehind({ site: 'a', attempt: 0 }, view)).toBeUndefined();
    expect(recordedLost({ site: 'a', attempt: 0 }, events.slice(view.since))).toBe(
      'attempt 0 at site a was recorded lost',
    );
    // The attempt routed after the loss, even to the same site, runs.
    const again = stored([routed('a', 0), lost('a', 0), routed('a', 1)]);
    expect(recordedLost({ site: 'a', attempt: 1 }, again.slice(attemptView(again).since))).toBeUndefined();
    // Reopened by `resume`, the task counts its attempts from 0 again: an earlier generation's loss is not this one's.
    const reopened = stored([
      routed('a', 0),
      lost('a', 0),
      makeEvent('TaskReopened', { runId, taskId }, { generation: 1, reason: 'merge refused' }),
      routed('a', 0),
    ]);
    expect(recordedLost({ site: 'a', attempt: 0 }, reopened.slice(attemptView(reopened).since))).toBeUndefined();
    expect(recordedLost(undefined, events)).toBeUndefined();
  });

  it('has an executor leave, just before its first command, an item whose attempt was lost or superseded since it was taken', () => {
    // The task's last route and last loss, as the executor reads them once its copy is ready.
    const [r0, l0, r1] = stored([routed('a', 0), lost('a', 0), routed('b', 1)]);
    const item = { site: 'a', attempt: 0 };
    expect(leftBeforeStart(item, r0, undefined)).toBeUndefined();
    expect(leftBeforeStart(item, r0, l0)).toBe('attempt 0 at site a was recorded lost');
    expect(leftBeforeStart(item, r1, l0)).toBe('attempt 0 at site a was superseded by attempt 1 at site b');
    // The attempt routed after the loss starts; so does one whose loss is of an earlier generation's route.
    expect(leftBeforeStart({ site: 'b', attempt: 1 }, r1, l0)).toBeUndefined();
    const [old, again] = stored([lost('a', 0), routed('a', 0)]);
    expect(leftBeforeStart(item, again, old)).toBeUndefined();
  });
});
