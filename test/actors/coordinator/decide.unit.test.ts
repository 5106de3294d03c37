import { describe, expect, it } from 'vitest';
import { decide, type Decision } from '../../../src/actors/coordinator/decide.ts';
import { makeEvent, type AgentEvent } from '../../../src/events/agent-events.ts';
import type { ContinuePolicy } from '../../../src/events/continue-policy.ts';
import { explicitPlan } from '../../../src/plan/explicit-plan.ts';
import { evolveRunStatus, initialRunStatus, taskOutcomes } from '../../../src/projections/run-status.ts';
import { parseTasks } from '../../../src/tasklist/tasks-parser.ts';

const runId = 'r1';
const TASKS = parseTasks(
  [
    '- [ ] 1. One',
    '  ```bash\n  true\n  ```',
    '- [ ] 2. Two',
    '  ```bash\n  true\n  ```',
    '- [ ] 3. Three (independent of 2)',
    '  - Depends: 1',
    '  ```bash\n  true\n  ```',
    '- [ ] 4. Group',
    '  - [ ] 4.1 Child',
    '    ```bash\n    true\n    ```',
  ].join('\n'),
);

/** given(events) -> when(decide) -> then(decisions): the coordinator's policy with no server. */
type GivenOptions = {
  concurrency?: number;
  policy?: ContinuePolicy;
  issued?: string[];
  planAhead?: number;
  skipOptional?: boolean;
};

/** The run status after RunStarted, the TASKS submitted, then `events`. */
function statusAfter(events: AgentEvent[], options: GivenOptions = {}) {
  const all: AgentEvent[] = [
    makeEvent(
      'RunStarted',
      { runId },
      {
        tasksFile: 't.md',
        workdir: '.',
        taskIds: TASKS.map((t) => t.id),
        alreadyDone: [],
        options: {
          taskConcurrency: options.concurrency ?? 3,
          commandConcurrency: 3,
          continuePolicy: options.policy ?? 'dependencies-successful',
          llm: 'offline',
          planAhead: options.planAhead ?? 0,
          skipOptional: options.skipOptional ?? false,
        },
      },
    ),
    ...TASKS.map((task) => makeEvent('TaskSubmitted', { runId, taskId: task.id }, { task })),
    ...events,
  ];
  return all.reduce((s, e, i) => evolveRunStatus(s, { ...e, seq: i + 1 }), initialRunStatus(runId));
}

function given(events: AgentEvent[], options: GivenOptions = {}) {
  return decide(statusAfter(events, options), new Set(options.issued ?? []));
}
const kinds = (ds: Decision[]) => ds.map((d) => `${d.kind}${'taskId' in d ? `:${d.taskId}` : ''}`);
const planned = (taskId: string) =>
  makeEvent(
    'PlanCreated',
    { runId, taskId },
    {
      source: 'explicit',
      taskKey: 'k',
      contextChecksum: '',
      specChecksum: '',
      taskText: '',
      plan: explicitPlan(TASKS.find((t) => t.id === taskId)!),
      durationMs: 1,
      inputs: [],
      revision: 0,
    },
  );
const completed = (taskId: string) =>
  makeEvent('TaskCompleted', { runId, taskId }, { durationMs: 1, commands: 1, recoveries: 0 });
const failed = (taskId: string) => makeEvent('TaskFailed', { runId, taskId }, { stage: 'execution', reason: 'boom' });

describe('coordinator decide', () => {
  it('waits for every announced task to be submitted', () => {
    const status = evolveRunStatus(initialRunStatus(runId), {
      ...makeEvent(
        'RunStarted',
        { runId },
        {
          tasksFile: 't',
          workdir: '.',
          taskIds: ['1'],
          alreadyDone: [],
          options: {
            taskConcurrency: 1,
            commandConcurrency: 1,
            continuePolicy: 'never',
            llm: 'offline',
            planAhead: 0,
            skipOptional: false,
          },
        },
      ),
      seq: 1,
    });
    expect(decide(status, new Set())).toEqual([]);
  });

  it('plans the first task, then both tasks that only need it', () => {
    expect(kinds(given([]))).toEqual(['plan:1']);
    expect(kinds(given([planned('1')], { issued: ['plan:1:g0'] }))).toEqual(['execute:1']);
    expect(kinds(given([planned('1'), completed('1')], { issued: ['plan:1:g0', 'exec:1:g0'] }))).toEqual([
      'plan:2',
      'plan:3',
      'tick:1',
    ]);
  });

  describe('a task completed unverified', () => {
    const unverified = makeEvent(
      'TaskCompleted',
      { runId, taskId: '1' },
      { durationMs: 1, commands: 1, recoveries: 1, evidence: 'none' },
    );
    const issued = ['plan:1:g0', 'exec:1:g0'];

    it('is not ticked, and the tasks that build on it do not start, saying why', () => {
      // given task 1 completed with no evidence it did its work; when the coordinator decides
      const ds = given([planned('1'), unverified], { issued });
      // then 2 (after it) and 3 (Depends: 1) are skipped naming it; 4 waits for 3 in turn
      expect(kinds(ds)).toEqual(['skip:2', 'skip:3']);
      expect(ds[0]).toMatchObject({ reason: expect.stringMatching(/^task 1 completed unverified \(nothing showed/) });
    });

    it('finishes the run unverified, not succeeded, with it listed apart from the completed', () => {
      const skips = ['2', '3', '4', '4.1'].map((id) =>
        makeEvent('TaskSkipped', { runId, taskId: id }, { reason: 'task 1 completed unverified', optional: false }),
      );
      const ds = given([planned('1'), unverified, ...skips], {
        issued: [...issued, 'skip:2', 'skip:3', 'skip:4', 'skip:4.1'],
      });
      expect(ds).toMatchObject([
        {
          kind: 'finish',
          status: 'unverified',
          completed: [],
          unverified: ['1'],
          failed: [],
          skipped: ['2', '3', '4', '4.1'],
        },
      ]);
    });

    it('lets its dependants run under --continue always', () => {
      expect(kinds(given([planned('1'), unverified], { issued, policy: 'always' }))).toEqual(['plan:2', 'plan:3']);
    });
  });

  it('keeps tasks in flight within the concurrency limit', () => {
    expect(
      kinds(given([planned('1'), completed('1')], { concurrency: 1, issued: ['plan:1:g0', 'exec:1:g0'] })),
    ).toEqual(['plan:2', 'tick:1']);
  });

  it('plans a subtask after its parent heading, and ticks the parent after its children', () => {
    const upTo3 = [planned('1'), completed('1'), planned('2'), completed('2'), planned('3'), completed('3')];
    const issued = [
      'plan:1:g0',
      'exec:1:g0',
      'plan:2:g0',
      'exec:2:g0',
      'plan:3:g0',
      'exec:3:g0',
      'tick:1',
      'tick:2',
      'tick:3',
    ];
    expect(given(upTo3, { issued })).toEqual([
      { kind: 'plan', key: 'plan:4:g0', taskId: '4', group: true, generation: 0, revision: 0 },
    ]);
    const parentDone = [...upTo3, planned('4'), completed('4')];
    expect(kinds(given(parentDone, { issued: [...issued, 'plan:4:g0', 'exec:4:g0'] }))).toEqual(['plan:4.1']);
    const all = [...parentDone, planned('4.1'), completed('4.1')];
    expect(kinds(given(all, { issued: [...issued, 'plan:4:g0', 'exec:4:g0', 'plan:4.1:g0', 'exec:4.1:g0'] }))).toEqual([
      'tick:4',
      'tick:4.1',
      'finish',
    ]);
  });

  it('skips dependents of a failed task and finishes failed (dependencies-successful)', () => {
    const ds = given([planned('1'), failed('1')], { issued: ['plan:1:g0', 'exec:1:g0'] });
    expect(kinds(ds)).toEqual(['skip:2', 'skip:3']);
  });

  it('skips everything left after a failure under "never", and runs on under "always"', () => {
    expect(kinds(given([planned('1'), failed('1')], { policy: 'never', issued: ['plan:1:g0', 'exec:1:g0'] }))).toEqual([
      'skip:2',
      'skip:3',
      'skip:4',
      'skip:4.1',
    ]);
    expect(kinds(given([planned('1'), failed('1')], { policy: 'always', issued: ['plan:1:g0', 'exec:1:g0'] }))).toEqual(
      ['plan:2', 'plan:3'],
    );
  });

  it('finishes only once the planning of a task skipped meanwhile is answered (cancelled): no LLM call outlives the run', () => {
    const skipped = ['2', '3', '4', '4.1'].map((taskId) =>
      makeEvent('TaskSkipped', { runId, taskId }, { reason: 'task 1 did not complete', optional: false }),
    );
    const issued = ['plan:1:g0', 'exec:1:g0', 'plan:2:g0', 'skip:2', 'skip:3', 'skip:4', 'skip:4.1'];
    const over = [planned('1'), failed('1'), ...skipped];
    expect(kinds(given(over, { policy: 'never', issued }))).toEqual([]);
    const cancelled = makeEvent('PlanCancelled', { runId, taskId: '2' }, { revision: 0, reason: 'task skipped' });
    expect(kinds(given([...over, cancelled], { policy: 'never', issued }))).toEqual(['finish']);
    // A plan (or a failure to plan) that came back after the skip answers it as well.
    expect(kinds(given([...over, planned('2')], { policy: 'never', issued }))).toEqual(['finish']);
  });

  it('issues nothing twice', () => {
    expect(given([], { issued: ['plan:1:g0'] })).toEqual([]);
  });

  it('issues nothing but ticks while the run is interrupted, and after a resume reissues the cut-short execution in the new generation', () => {
    const interrupted = makeEvent('RunInterrupted', { runId }, { reason: 'user' });
    const executing = [
      planned('1'),
      makeEvent(
        'CommandStarted',
        { runId, taskId: '1' },
        { commandId: 'c1', command: 'true', attempt: 0, purpose: 'plan' },
      ),
    ];
    expect(given([...executing, interrupted], { issued: ['plan:1:g0', 'exec:1:g0'] })).toEqual([]);
    // A task that finishes after the interruption is ticked; nothing else is issued.
    expect(kinds(given([...executing, interrupted, completed('1')], { issued: ['plan:1:g0', 'exec:1:g0'] }))).toEqual([
      'tick:1',
    ]);
    const resumed = given([...executing, interrupted, makeEvent('RunResumed', { runId }, { generation: 1 })]);
    expect(resumed).toEqual([expect.objectContaining({ kind: 'execute', taskId: '1', generation: 1 })]);
  });

  it('plans ahead of execution within the plan-ahead bound, and executes a task only when its blockers are done', () => {
    expect(kinds(given([], { planAhead: 2 }))).toEqual(['plan:1', 'plan:2']);
    const issued = ['plan:1:g0', 'plan:2:g0'];
    // Task 2 is planned but task 1 is not done: no execution yet, and one more task may be planned.
    expect(kinds(given([planned('2')], { planAhead: 2, issued }))).toEqual(['plan:3']);
    expect(kinds(given([planned('2'), planned('1')], { planAhead: 2, issued: [...issued, 'plan:3:g0'] }))).toEqual([
      'execute:1',
      'plan:4',
    ]);
    const after1 = [planned('2'), planned('1'), completed('1')];
    expect(kinds(given(after1, { planAhead: 2, issued: [...issued, 'plan:3:g0', 'plan:4:g0', 'exec:1:g0'] }))).toEqual([
      'execute:2',
      'tick:1',
    ]);
  });

  it("passes a plan's inputs to its execution, and plans again under a new revision after PlanInvalidated", () => {
    const withInputs = {
      ...planned('1'),
      data: { ...planned('1').data, inputs: [{ path: 'src/a.js', checksum: null }] },
    };
    const [execute] = given([withInputs], { issued: ['plan:1:g0'] });
    expect(execute).toMatchObject({
      kind: 'execute',
      key: 'exec:1:g0',
      planInputs: [{ path: 'src/a.js', checksum: null }],
      revision: 0,
    });
    const invalidated = makeEvent(
      'PlanInvalidated',
      { runId, taskId: '1' },
      { revision: 1, changed: [{ path: 'src/a.js', was: null, now: 'abc' }], reason: 'changed' },
    );
    expect(given([withInputs, invalidated], { issued: ['plan:1:g0', 'exec:1:g0'] })).toEqual([
      { kind: 'plan', key: 'plan:1:g0:r1', taskId: '1', group: false, generation: 0, revision: 1 },
    ]);
    // A PlanCreated of the old revision arriving late does not count as the new plan.
    expect(
      kinds(given([withInputs, invalidated, planned('1')], { issued: ['plan:1:g0', 'exec:1:g0', 'plan:1:g0:r1'] })),
    ).toEqual([]);
  });

  it('checks a plan made ahead again each time a task finishes, not only when its own task may start', () => {
    const inputs = [{ path: 'gen/a.txt', checksum: null }];
    const ahead = { ...planned('2'), data: { ...planned('2').data, inputs } };
    const issued = ['plan:1:g0', 'exec:1:g0', 'plan:2:g0'];
    // Task 2 waits for 1 (the default order); nothing has finished yet: nothing to check.
    expect(given([planned('1'), ahead], { planAhead: 2, issued }).filter((d) => d.kind === 'revalidate')).toEqual([]);
    const after1 = [planned('1'), ahead, completed('1')];
    const ds = given(after1, { planAhead: 2, concurrency: 1, issued: [...issued, 'plan:3:g0', 'exec:1:g0'] });
    expect(ds.find((d) => d.kind === 'execute')).toMatchObject({ taskId: '2', planInputs: inputs });
    // With no room to start it yet, it is checked now, once for this many finished tasks.
    const busy = [
      planned('3'),
      makeEvent(
        'CommandStarted',
        { runId, taskId: '3' },
        { commandId: 'c1', command: 'true', attempt: 0, purpose: 'plan' },
      ),
    ];
    const waiting = given([planned('1'), ahead, ...busy, completed('1')], {
      planAhead: 2,
      concurrency: 1,
      issued: [...issued, 'plan:3:g0', 'exec:3:g0'],
    });
    expect(waiting.filter((d) => d.kind === 'revalidate')).toEqual([
      { kind: 'revalidate', key: 'revalidate:2:g0:1', taskId: '2', planInputs: inputs, revision: 0 },
    ]);
    expect(
      kinds(
        given([planned('1'), ahead, ...busy, completed('1')], {
          planAhead: 2,
          concurrency: 1,
          issued: [...issued, 'plan:3:g0', 'exec:3:g0', 'revalidate:2:g0:1'],
        }),
      ),
    ).not.toContain('revalidate:2');
  });

  it('skips optional tasks by choice under --skip-optional: dependants still run and the run succeeds', () => {
    const tasks = parseTasks(
      '- [ ] 1. Core\n  ```bash\n  true\n  ```\n- [ ]* 2. Optional tests\n- [ ] 3. After\n  ```bash\n  true\n  ```',
    );
    const events: AgentEvent[] = [
      makeEvent(
        'RunStarted',
        { runId },
        {
          tasksFile: 't',
          workdir: '.',
          taskIds: ['1', '2', '3'],
          alreadyDone: [],
          options: {
            taskConcurrency: 3,
            commandConcurrency: 3,
            continuePolicy: 'dependencies-successful',
            llm: 'offline',
            planAhead: 0,
            skipOptional: true,
          },
        },
      ),
      ...tasks.map((task) => makeEvent('TaskSubmitted', { runId, taskId: task.id }, { task })),
    ];
    const fold = (list: AgentEvent[]) =>
      list.reduce((s, e, i) => evolveRunStatus(s, { ...e, seq: i + 1 }), initialRunStatus(runId));
    expect(decide(fold(events), new Set())).toMatchObject([
      { kind: 'plan', taskId: '1' },
      { kind: 'skip', taskId: '2', optional: true },
    ]);
    const plan = (id: string) =>
      makeEvent(
        'PlanCreated',
        { runId, taskId: id },
        {
          source: 'explicit',
          taskKey: 'k',
          contextChecksum: '',
          specChecksum: '',
          taskText: '',
          plan: explicitPlan(tasks.find((t) => t.id === id)!),
          durationMs: 1,
          inputs: [],
          revision: 0,
        },
      );
    const skipped = makeEvent('TaskSkipped', { runId, taskId: '2' }, { reason: 'optional', optional: true });
    const later = [
      ...events,
      plan('1'),
      makeEvent('TaskCompleted', { runId, taskId: '1' }, { durationMs: 1, commands: 1, recoveries: 0 }),
      skipped,
    ];
    expect(kinds(decide(fold(later), new Set(['plan:1:g0', 'exec:1:g0', 'skip:2'])))).toEqual(['plan:3', 'tick:1']);
    const done = [
      ...later,
      plan('3'),
      makeEvent('TaskCompleted', { runId, taskId: '3' }, { durationMs: 1, commands: 1, recoveries: 0 }),
    ];
    const finish = decide(
      fold(done),
      new Set(['plan:1:g0', 'exec:1:g0', 'skip:2', 'plan:3:g0', 'exec:3:g0', 'tick:1']),
    );
    expect(finish).toMatchObject([
      { kind: 'tick', taskId: '3' },
      { kind: 'finish', status: 'succeeded', skipped: ['2'] },
    ]);
  });

  it('does not skip a task whose execution was sent: its own outcome comes (continue policy: never)', () => {
    // given 1 and 3 planned, 3's execution sent but not started, when 1 fails
    const ds = given([planned('1'), planned('2'), failed('1')], {
      policy: 'never',
      issued: ['plan:1:g0', 'exec:1:g0', 'plan:2:g0', 'exec:2:g0'],
    });
    // then 2 is left to its executor, the tasks not sent are skipped
    expect(kinds(ds)).toEqual(['skip:3', 'skip:4', 'skip:4.1']);
  });

  it('shows a parent whose own commands completed as failed once a subtask failed, in the run status and the finish', () => {
    const upTo3 = ['1', '2', '3'].flatMap((id) => [planned(id), completed(id)]);
    const events = [...upTo3, planned('4'), completed('4'), planned('4.1'), failed('4.1')];
    const issued = ['1', '2', '3', '4', '4.1'].flatMap((id) => [`plan:${id}:g0`, `exec:${id}:g0`, `tick:${id}`]);
    const ds = given(events, { issued });
    expect(ds).toMatchObject([{ kind: 'finish', status: 'failed', completed: ['1', '2', '3'], failed: ['4', '4.1'] }]);
    // While 4.1 runs, 4 is not shown done; once it failed, 4 failed with it.
    expect(taskOutcomes(statusAfter([...upTo3, planned('4'), completed('4')])).get('4')).toEqual({
      state: 'executing',
      reason: 'its own commands are done; subtask 4.1 is not',
    });
    expect(taskOutcomes(statusAfter(events)).get('4')).toEqual({
      state: 'failed',
      reason: 'subtask 4.1 did not complete',
    });
  });

  it('keeps a task skipped when the plan made ahead for it fails afterwards', () => {
    const events: AgentEvent[] = [
      makeEvent(
        'RunStarted',
        { runId },
        {
          tasksFile: 't',
          workdir: '.',
          taskIds: TASKS.map((t) => t.id),
          alreadyDone: [],
          options: {
            taskConcurrency: 3,
            commandConcurrency: 3,
            continuePolicy: 'dependencies-successful',
            llm: 'offline',
            planAhead: 4,
            skipOptional: false,
          },
        },
      ),
      ...TASKS.map((task) => makeEvent('TaskSubmitted', { runId, taskId: task.id }, { task })),
      failed('1'),
      makeEvent('TaskSkipped', { runId, taskId: '2' }, { reason: 'task 1 did not complete', optional: false }),
      failed('2'),
    ];
    const status = events.reduce((s, e, i) => evolveRunStatus(s, { ...e, seq: i + 1 }), initialRunStatus(runId));
    expect(status.tasks['2']).toMatchObject({ state: 'skipped', reason: 'task 1 did not complete' });
  });
});

describe('coordinator decide: the LLM budget', () => {
  const PROSE = parseTasks(
    [
      '- [ ] 1. Prose one',
      '- [ ] 2. Explicit',
      '  - Depends: none',
      '  ```bash\n  true\n  ```',
      '- [ ] 3. Prose three',
      '  - Depends: none',
    ].join('\n'),
  );
  const statusOf = (events: AgentEvent[]) =>
    [
      makeEvent(
        'RunStarted',
        { runId },
        {
          tasksFile: 't.md',
          workdir: '.',
          taskIds: PROSE.map((t) => t.id),
          alreadyDone: [],
          options: {
            taskConcurrency: 3,
            commandConcurrency: 3,
            continuePolicy: 'dependencies-successful',
            llm: 'openai',
            planAhead: 0,
            skipOptional: false,
            budget: { tokens: 100 },
          },
        },
      ),
      ...PROSE.map((task) => makeEvent('TaskSubmitted', { runId, taskId: task.id }, { task })),
      ...events,
    ].reduce((s, e, i) => evolveRunStatus(s, { ...e, seq: i + 1 }), initialRunStatus(runId));
  const spend = (tokens: number) =>
    makeEvent(
      'LlmCalled',
      { runId, taskId: '1' },
      { purpose: 'plan', model: 'm', durationMs: 1, ok: true, promptTokens: tokens, completionTokens: 0 },
    );

  it('plans everything while the budget lasts', () => {
    expect(kinds(decide(statusOf([spend(50)]), new Set()))).toEqual(['plan:1', 'plan:2', 'plan:3']);
  });

  it('once spent, holds the tasks that need the LLM, lets the rest run, and stops the run only when nothing else can move', () => {
    const spent = statusOf([spend(150)]);
    expect(kinds(decide(spent, new Set()))).toEqual(['plan:2']);
    const explicitRunning = statusOf([
      spend(150),
      { ...planned('2'), data: { ...planned('2').data, plan: explicitPlan(PROSE[1]!) } },
    ]);
    expect(kinds(decide(explicitRunning, new Set(['plan:2:g0'])))).toEqual(['execute:2']);
    const done = statusOf([
      spend(150),
      { ...planned('2'), data: { ...planned('2').data, plan: explicitPlan(PROSE[1]!) } },
      completed('2'),
    ]);
    const halt = decide(done, new Set(['plan:2:g0', 'exec:2:g0', 'tick:2']));
    expect(halt).toEqual([
      {
        kind: 'halt',
        key: 'halt:g0',
        reason: "the run's LLM budget of 100 tokens is spent (150 used); waiting for the LLM: task(s) 1, 3",
        generation: 0,
      },
    ]);
    // A resume with a larger budget plans the held tasks.
    const resumed = evolveRunStatus(done, {
      ...makeEvent('RunResumed', { runId }, { generation: 1, budget: { tokens: 1000 } }),
      seq: 99,
    });
    expect(kinds(decide(resumed, new Set(['plan:2:g0', 'exec:2:g0', 'tick:2', 'halt:g0'])))).toEqual([
      'plan:1',
      'plan:3',
    ]);
  });
});
