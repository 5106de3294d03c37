import { describe, expect, it } from 'vitest';
import { notStarted, resumePoint } from '../../src/actors/executor/state.ts';
import { staleReason } from '../../src/host/run-control.ts';
import { makeEvent, type AgentEvent, type StoredEvent } from '../../src/events/agent-events.ts';

/** Where redelivered work picks up, and when it must not be picked up at all: read off the log alone. */

const stored = (events: AgentEvent[]): StoredEvent[] => events.map((e, i) => ({ ...e, seq: i + 1 }));
const task = { runId: 'r', taskId: '1' };
const started = (
  commandId: string,
  attempt: number,
  extra: { pgid?: number; host?: string; purpose?: 'plan' | 'recovery' | 'check' } = {},
) =>
  makeEvent('CommandStarted', task, {
    commandId,
    command: `run ${commandId}`,
    attempt,
    purpose: extra.purpose ?? 'plan',
    confinement: 'none',
    ...(extra.pgid ? { pgid: extra.pgid, host: extra.host ?? 'here' } : {}),
  });
const finished = (
  commandId: string,
  attempt: number,
  exitCode: number,
  purpose: 'plan' | 'recovery' | 'check' = 'plan',
) =>
  makeEvent('CommandFinished', task, {
    commandId,
    command: `run ${commandId}`,
    attempt,
    purpose,
    exitCode,
    signal: null,
    timedOut: false,
    durationMs: 5,
    startedAt: '2026-01-01T00:00:00.000Z',
    stdoutTail: '',
    stderrTail: exitCode === 0 ? '' : 'boom',
    truncated: false,
    redacted: [],
  });

describe('resume point of a task whose executor died', () => {
  it('keeps recorded successes, runs the command in flight again under the next attempt, and names its orphaned process group', () => {
    const point = resumePoint(
      stored([started('c1', 0, { pgid: 101 }), finished('c1', 0, 0), started('c2', 0, { pgid: 102 })]),
      'here',
    );
    expect(point.done).toEqual(['c1']);
    expect(point.nextAttempt).toEqual({ c2: 1 });
    expect(point.orphans).toEqual([102]);
    expect(point.recoveryAttempts).toBe(0);
  });

  it('leaves process groups started on another host alone (their pid means nothing here)', () => {
    expect(resumePoint(stored([started('c1', 0, { pgid: 101, host: 'elsewhere' })]), 'here').orphans).toEqual([]);
  });

  it('counts recovery attempts made, and takes a command a resolved recovery covered as done', () => {
    const point = resumePoint(
      stored([
        started('c1', 0),
        finished('c1', 0, 1),
        makeEvent('RecoveryAttempted', task, {
          commandId: 'c1',
          attempt: 0,
          strategyId: 'p/s',
          source: 'pattern',
          commands: ['mkdir -p out'],
          retry: true,
        }),
        started('c1.fix0.1', 0, { purpose: 'recovery' }),
        finished('c1.fix0.1', 0, 0, 'recovery'),
        makeEvent('RecoveryResolved', task, {
          commandId: 'c1',
          attempt: 0,
          strategyId: 'p/s',
          source: 'pattern',
          durationMs: 9,
        }),
        started('c2', 0),
        finished('c2', 0, 2),
      ]),
      'here',
    );
    expect(point.done).toEqual(['c1']);
    expect(point.recoveryAttempts).toBe(1);
    // The failed c2 runs again, after every attempt recorded, never under a recorded attempt number.
    expect(point.nextAttempt).toEqual({ c2: 1 });
  });

  it('reads a task whose last event is from planning as not started (its log need not be read)', () => {
    const [created] = stored([makeEvent('PlanCacheMiss', task, { key: 'k', reason: 'empty' })]);
    const [running] = stored([started('c1', 0)]);
    expect(notStarted(undefined)).toBe(true);
    expect(notStarted(created)).toBe(true);
    expect(notStarted(running)).toBe(false);
  });
});

describe('stale work', () => {
  const run = { runId: 'r' };
  const runStarted = makeEvent('RunStarted', run, {
    tasksFile: '/w/tasks.md',
    workdir: '/w',
    taskIds: ['1'],
    alreadyDone: [],
    options: {
      taskConcurrency: 1,
      commandConcurrency: 1,
      continuePolicy: 'always',
      llm: 'offline',
      planAhead: 0,
      skipOptional: false,
    },
  });
  const interrupted = makeEvent('RunInterrupted', run, { reason: 'Ctrl-C' });
  const resumed = (generation: number) => makeEvent('RunResumed', run, { generation });

  it('lets work of a run under way through', () => {
    expect(staleReason(stored([runStarted]), 0)).toBeUndefined();
  });

  it('holds work of an interrupted run until it is resumed, then drops what was issued before the resume', () => {
    expect(staleReason(stored([runStarted, interrupted]), 0)).toMatch(/interrupted.*resume/);
    expect(staleReason(stored([runStarted, interrupted, resumed(1)]), 0)).toBe('issued before resume 1');
    expect(staleReason(stored([runStarted, interrupted, resumed(1)]), 1)).toBeUndefined();
    expect(staleReason(stored([runStarted, interrupted, resumed(1), interrupted]), 1)).toMatch(/interrupted/);
  });

  it('drops all work of a finished run', () => {
    const finished = makeEvent('RunFinished', run, {
      status: 'succeeded',
      completed: ['1'],
      failed: [],
      skipped: [],
      durationMs: 1,
    });
    expect(staleReason(stored([runStarted, finished]), 5)).toBe('the run is finished');
  });
});
