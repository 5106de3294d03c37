import { describe, expect, it } from 'vitest';
import { makeEvent, type AgentEvent, type StoredEvent } from '../../src/events/agent-events.ts';
import { reopenable } from '../../src/host/resume-run.ts';
import { staleReason } from '../../src/host/run-control.ts';
import { attemptView } from '../../src/projections/attempts.ts';
import { TaskSpecSchema, type TaskSpec } from '../../src/tasklist/task-spec.ts';
import { evolveRunStatus, initialRunStatus } from '../../src/projections/run-status.ts';

/** `resume` of a finished run whose task's change set was never applied (#36): which tasks run again, and what the log then says. */

const stored = (events: AgentEvent[]): StoredEvent[] => events.map((e, i) => ({ ...e, seq: i + 1 }));
const run = { runId: 'r' };
const failed = (taskId: string, stage: 'merge' | 'conflict' | 'execution') =>
  makeEvent('TaskFailed', { runId: 'r', taskId }, { stage, reason: `${stage} of ${taskId}` });
const finished = makeEvent('RunFinished', run, {
  status: 'failed',
  completed: [],
  failed: ['1', '2', '3'],
  skipped: [],
  durationMs: 1,
});
const skipped = (taskId: string, optional = false) =>
  makeEvent('TaskSkipped', { runId: 'r', taskId }, { reason: 'a dependency failed', optional });
const spec = (id: string, depends?: string[]): TaskSpec =>
  TaskSpecSchema.parse({
    id,
    title: id,
    done: false,
    line: 1,
    description: [],
    requirements: [],
    success: [],
    commands: [],
    ...(depends ? { depends } : {}),
  });
const reopened = (taskId: string) =>
  makeEvent('TaskReopened', { runId: 'r', taskId }, { generation: 1, reason: 'its change set could not be applied' });

describe('a finished run reopened by resume', () => {
  it('runs again the tasks that failed at the merge or as a conflict, not those that failed running', () => {
    const events = stored([failed('1', 'merge'), failed('2', 'conflict'), failed('3', 'execution'), finished]);
    expect(reopenable(events)).toEqual([
      { taskId: '1', reason: 'its change set could not be applied: merge of 1' },
      { taskId: '2', reason: 'its change set met a conflict: conflict of 2' },
    ]);
  });

  it('runs again with it the tasks skipped because of it, through other skipped ones, not those skipped by choice or for another failure', () => {
    // 2 follows 1 (no Depends: the previous sibling); 3 depends on 2; 4 on 5, which failed running; 6 was skipped by choice.
    const tasks = [spec('1'), spec('2'), spec('3', ['2']), spec('4', ['5']), spec('5', []), spec('6', [])];
    const events = stored([
      failed('1', 'merge'),
      skipped('2'),
      skipped('3'),
      failed('5', 'execution'),
      skipped('4'),
      skipped('6', true),
      finished,
    ]);
    const options = { continuePolicy: 'continue' } as never;
    expect(reopenable(events, { tasks, options }).map((r) => [r.taskId, r.reason.split(':')[0]])).toEqual([
      ['1', 'its change set could not be applied'],
      ['2', 'it was skipped because of task 1, which runs again'],
      ['3', 'it was skipped because of task 2, which runs again'],
    ]);
    // Continue policy `never`: every task skipped for a failure waits on it.
    const never = reopenable(events, { tasks, options: { continuePolicy: 'never' } as never });
    expect(never.map((r) => r.taskId)).toEqual(['1', '2', '3', '4']);
    // Nothing reopened: nothing skipped runs again either.
    expect(reopenable(stored([failed('5', 'execution'), skipped('4'), finished]), { tasks, options })).toEqual([]);
  });

  it("takes the task's earlier failure for no outcome, and its next one for its outcome", () => {
    const completed = makeEvent(
      'TaskCompleted',
      { runId: 'r', taskId: '1' },
      { durationMs: 1, commands: 1, recoveries: 0 },
    );
    const before = stored([failed('1', 'merge'), reopened('1')]);
    expect(attemptView(before)).toMatchObject({ reopened: 1, since: 2 });
    expect(attemptView(before).outcome).toBeUndefined();
    expect(attemptView(stored([failed('1', 'merge'), reopened('1'), completed])).outcome?.type).toBe('TaskCompleted');
    // Nothing is reopened twice: its outcome is the one after.
    expect(reopenable(stored([failed('1', 'merge'), reopened('1'), completed]))).toEqual([]);
  });

  it('is under way again: its work of the new generation goes through, and its status is no longer finished', () => {
    const resumed = makeEvent('RunResumed', run, { generation: 1 });
    const log = stored([finished, reopened('1'), resumed]);
    expect(staleReason(log, 1)).toBeUndefined();
    expect(staleReason(log, 0)).toBe('issued before resume 1');
    expect(staleReason(stored([finished]), 1)).toBe('the run is finished');
    const submitted = makeEvent('TaskSubmitted', { runId: 'r', taskId: '1' }, {
      task: {
        id: '1',
        title: 'Grow',
        description: [],
        commands: ['true'],
        criteria: [],
        requirements: [],
        done: false,
        line: 1,
      },
    } as never);
    const status = stored([submitted, failed('1', 'merge'), finished, reopened('1'), resumed]).reduce(
      evolveRunStatus,
      initialRunStatus('r'),
    );
    expect(status.finished).toBeUndefined();
    expect(status.reopened).toBe(1);
    expect(status.tasks['1']).toMatchObject({ state: 'pending', reopened: 1, started: false });
    expect(status.tasks['1']!.reason).toBeUndefined();
  });
});
