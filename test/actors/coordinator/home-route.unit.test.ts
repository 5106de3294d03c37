import { describe, expect, it } from 'vitest';
import { decisionEffects } from '../../../src/actors/coordinator/effects.ts';
import { placement } from '../../../src/actors/coordinator/routing.ts';
import { makeEvent, type AgentEvent, type StoredEvent } from '../../../src/events/agent-events.ts';
import { eventIds } from '../../../src/events/ids.ts';
import type { StartRun } from '../../../src/events/work-commands.ts';
import { explicitPlan } from '../../../src/plan/explicit-plan.ts';
import { attemptView, currentAttempts, leftBehind } from '../../../src/projections/attempts.ts';
import { evolveRunStatus, initialRunStatus } from '../../../src/projections/run-status.ts';
import { HOME_SITE } from '../../../src/projections/sites.ts';
import { parseTasks } from '../../../src/tasklist/tasks-parser.ts';

const runId = 'r1';
const [TASK] = parseTasks('- [ ] 1. One\n  ```bash\n  sleep 1\n  ```\n');
const taskId = TASK!.id;
const plan = explicitPlan(TASK!);
const start: StartRun = {
  runId,
  tasksFile: '/w/tasks.md',
  workdir: '/w',
  tasks: [TASK!],
  options: {
    taskConcurrency: 2,
    commandConcurrency: 1,
    continuePolicy: 'dependencies-successful',
    llm: 'offline',
    planAhead: 0,
    skipOptional: false,
  },
};

const stored = (events: AgentEvent[]): StoredEvent[] => events.map((e, i) => ({ ...e, seq: i + 1 }));
const routed = (site: string, attempt: number) =>
  makeEvent('TaskRouted', { runId, taskId }, { site, attempt, reason: 'least loaded' });
const lost = makeEvent('TaskAttemptLost', { runId, taskId }, { site: 'a', attempt: 0, reason: 'site-dead' });
const completed = (routeAttempt?: number) =>
  makeEvent(
    'TaskCompleted',
    { runId, taskId, id: eventIds.outcome(runId, taskId, routeAttempt) },
    { durationMs: 1, commands: 1, recoveries: 0, ...(routeAttempt === undefined ? {} : { routeAttempt }) },
  );

/** The run status once the task is planned, then `events`. */
function statusAfter(events: AgentEvent[]) {
  const { tasksFile, workdir, options } = start;
  const all: AgentEvent[] = [
    makeEvent('RunStarted', { runId }, { tasksFile, workdir, taskIds: [taskId], alreadyDone: [], options }),
    makeEvent('TaskSubmitted', { runId, taskId }, { task: TASK! }),
    makeEvent(
      'PlanCreated',
      { runId, taskId },
      {
        source: 'explicit',
        taskKey: 'k',
        contextChecksum: '',
        specChecksum: '',
        taskText: '',
        plan,
        durationMs: 1,
        inputs: [],
        revision: 0,
      },
    ),
    ...events,
  ];
  return stored(all).reduce(evolveRunStatus, initialRunStatus(runId));
}

describe('a lost attempt routed home', () => {
  it('keeps a first attempt with no live site on the shared queue unrecorded, as before sites', () => {
    expect(placement(statusAfter([]), taskId, [], 0)).toEqual({ kind: 'shared' });
  });

  it('records the attempt after a lost one as a route home, and sends its item to the shared queue carrying it', () => {
    const status = statusAfter([routed('a', 0), lost]);
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
    const events = stored([routed('a', 0), lost, routed(HOME_SITE, 1), completed(0), completed(1)]);
    const view = attemptView(events);
    expect(view.current).toEqual({ site: HOME_SITE, attempt: 1 });
    expect(view.outcome?.id).toBe(eventIds.outcome(runId, taskId, 1));
    expect(leftBehind({ site: 'a', attempt: 0 }, view)).toMatch(/superseded by attempt 1 at site @home/);
    // The two runs' outcomes do not share an id: the first stored does not hide the other.
    expect(eventIds.outcome(runId, taskId, 1)).not.toBe(eventIds.outcome(runId, taskId, 0));
    expect(currentAttempts(events).filter((e) => e.type === 'TaskCompleted')).toHaveLength(1);
  });
});
