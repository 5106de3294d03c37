import { describe, expect, it } from 'vitest';
import { decisionEffects, next, startEffects } from '../../src/actors/coordinator/effects.ts';
import { runStage } from '../../src/actors/coordinator/state.ts';
import type { Decision } from '../../src/actors/coordinator/decide.ts';
import { cacheDecision, planOutcome } from '../../src/actors/decomposer/decide.ts';
import { alreadyPlanned } from '../../src/actors/decomposer/state.ts';
import { recoveryOutcome, taskOutcome } from '../../src/actors/executor/records.ts';
import { attemptEvents } from '../../src/actors/recoverer/decide.ts';
import { makeEvent, type AgentEvent, type StoredEvent } from '../../src/events/agent-events.ts';
import { MemoryEventLog } from '../../src/events/memory-event-log.ts';
import type { ExecuteTask, PlanTask, RecoverRequest, StartRun } from '../../src/events/work-commands.ts';
import { explicitPlan } from '../../src/plan/explicit-plan.ts';
import type { CacheEntry } from '../../src/projections/plan-cache.ts';
import { evolveRunStatus, initialRunStatus } from '../../src/projections/run-status.ts';
import { parseTasks } from '../../src/tasklist/tasks-parser.ts';

/** The actors' pure cores, given/when/then: no server, no files, no processes. */

const stored = (events: AgentEvent[]): StoredEvent[] => events.map((e, i) => ({ ...e, seq: i + 1 }));
const tasks = parseTasks(
  [
    '- [x] 1. Done already',
    '  ```bash\n  true\n  ```',
    '- [ ] 2. Build',
    '  ```bash\n  make\n  ```',
    '- [ ] 3. Test',
    '  - Depends: 2',
    '  ```bash\n  make test\n  ```',
  ].join('\n'),
);
const start: StartRun = {
  runId: 'r',
  tasksFile: '/w/tasks.md',
  workdir: '/w',
  tasks,
  options: {
    taskConcurrency: 2,
    commandConcurrency: 2,
    continuePolicy: 'dependencies-successful',
    llm: 'offline',
    planAhead: 0,
    skipOptional: false,
  },
};
const appended = (effects: ReturnType<typeof startEffects>) =>
  effects.flatMap((e) => (e.kind === 'append' ? e.events : []));

describe('coordinator core', () => {
  it('given a new run, when it starts, then it records the run and the tasks not done yet, in one round', () => {
    const effects = startEffects(start);
    expect(effects).toHaveLength(1);
    const events = appended(effects);
    expect(events.map((e) => `${e.type}:${e.taskId ?? ''}`)).toEqual([
      'RunStarted:',
      'TaskSubmitted:2',
      'TaskSubmitted:3',
    ]);
    expect(events[0]!.type === 'RunStarted' && events[0].data.alreadyDone).toEqual(['1']);
  });

  it('tells a new run, one under way and one left interrupted apart from its run-level events', () => {
    const [started] = appended(startEffects(start));
    const interrupted = makeEvent('RunInterrupted', { runId: 'r' }, { reason: 'Ctrl-C' });
    const resumed = makeEvent('RunResumed', { runId: 'r' }, { generation: 1 });
    expect(runStage([])).toBe('new');
    expect(runStage(stored([started!]))).toBe('under-way');
    expect(runStage(stored([started!, interrupted]))).toBe('interrupted');
    expect(runStage(stored([started!, interrupted, resumed]))).toBe('under-way');
  });

  it('given the run started, when its events are folded, then each decision is issued once (task 1 was done before the run: no tick)', () => {
    let status = initialRunStatus('r');
    for (const e of stored(appended(startEffects(start)))) status = evolveRunStatus(status, e);
    const first = next(status, new Set());
    expect(first.decisions.map((d) => `${d.kind}:${'taskId' in d ? d.taskId : ''}`)).toEqual(['plan:2']);
    expect(next(status, first.issued).decisions).toEqual([]);
  });

  const execute: Decision = {
    kind: 'execute',
    key: 'exec:2:g0',
    taskId: '2',
    plan: explicitPlan(tasks[1]!),
    planEventId: 'p',
    planInputs: [],
    revision: 0,
    generation: 0,
  };

  it('sends an execute decision to the executor when its inputs are unchanged, and plans again when one changed', () => {
    const unchanged = decisionEffects(start, execute, { changed: [], now: 0 });
    expect(unchanged).toMatchObject([{ kind: 'send', actor: 'executor', verb: 'execute', id: 'exec:r:2:g0' }]);
    const changed = decisionEffects(start, execute, { changed: [{ path: 'src/a.ts', was: 'x', now: 'y' }], now: 0 });
    const [invalidated] = appended(changed);
    expect(invalidated).toMatchObject({
      type: 'PlanInvalidated',
      id: 'r:2:PlanInvalidated:1',
      data: { revision: 1, reason: 'src/a.ts changed after the plan was made' },
    });
  });

  it('ends the run with its duration from the start to now, and ticks a task as an effect on its line of tasks.md', () => {
    const finish: Decision = {
      kind: 'finish',
      key: 'finish',
      status: 'succeeded',
      completed: ['2'],
      unverified: [],
      failed: [],
      skipped: [],
      startedAt: '2026-01-01T00:00:00.000Z',
      tokens: 1200,
      usd: 0.01,
    };
    const [finished] = appended(
      decisionEffects(start, finish, { changed: [], now: Date.parse('2026-01-01T00:00:02.500Z') }),
    );
    expect(finished).toMatchObject({
      type: 'RunFinished',
      id: 'r:RunFinished',
      data: { durationMs: 2500, tokens: 1200, usd: 0.01 },
    });
    expect(decisionEffects(start, { kind: 'tick', key: 'tick:2', taskId: '2' }, { changed: [], now: 0 })).toEqual([
      {
        kind: 'tick',
        runId: start.runId,
        tasksFile: start.tasksFile,
        tasks: [{ id: '2', line: start.tasks[1]!.line }],
      },
    ]);
  });
});

describe('decomposer core', () => {
  const plan = explicitPlan(tasks[1]!);
  const entry: CacheEntry = {
    key: 'k1',
    taskText: 'Build',
    contextChecksum: 'c',
    specChecksum: 's',
    plan,
    successes: 1,
    lastUsedSeq: 1,
  };
  const ids = { runId: 'r', taskId: '2' };

  it('serves an exact entry, a validated similar one, and records why a similar one was turned down', () => {
    expect(cacheDecision({ kind: 'exact', entry }, ids, 'k1')).toMatchObject({
      answer: { hit: true, plan },
      event: { type: 'PlanCacheHit', data: { match: 'exact' } },
    });
    const similar = { kind: 'similar' as const, entry, similarity: 0.9, adaptations: [{ from: 'a', to: 'b' }], plan };
    expect(cacheDecision(similar, ids, 'k2')).toMatchObject({
      answer: { hit: true },
      event: { type: 'PlanCacheHit', data: { match: 'similar', similarity: 0.9 } },
    });
    expect(cacheDecision(similar, ids, 'k2', 'input x does not exist')).toMatchObject({
      answer: { hit: false },
      event: { type: 'PlanCacheMiss', data: { reason: 'similar entry k1 (0.9) rejected: input x does not exist' } },
    });
    expect(cacheDecision({ kind: 'miss', reason: 'the cache is empty' }, ids, 'k3')).toMatchObject({
      answer: { hit: false },
      event: { data: { reason: 'the cache is empty' } },
    });
  });

  const item: PlanTask = {
    runId: 'r',
    workdir: '/w',
    tasksFile: '/w/tasks.md',
    task: tasks[1]!,
    group: false,
    generation: 0,
    revision: 1,
    llm: 'offline',
  };
  const made = {
    taskKey: 'k',
    taskText: 'Build',
    contextChecksum: 'c',
    specChecksum: 's',
    inputs: [{ path: 'Makefile', checksum: 'm' }],
    durationMs: 3,
  };

  it('records a plan under its revision, with no inputs when it is explicit, and a failure as TaskFailed', () => {
    expect(planOutcome(item, { ok: true, plan, source: 'explicit' }, made)).toMatchObject({
      type: 'PlanCreated',
      id: 'r:2:PlanCreated:r1',
      data: { inputs: [], revision: 1 },
    });
    expect(planOutcome(item, { ok: true, plan, source: 'cache' }, made)).toMatchObject({
      data: { inputs: made.inputs },
    });
    expect(planOutcome(item, { ok: false, reason: 'LLM offline' }, made)).toMatchObject({
      type: 'TaskFailed',
      data: { stage: 'planning', reason: 'LLM offline' },
    });
  });

  it('fails at planning a plan with no commands, from any source; a heading needs none', () => {
    const empty = { ...plan, commands: [] };
    for (const source of ['explicit', 'cache', 'llm'] as const)
      expect(planOutcome(item, { ok: true, plan: empty, source }, made)).toMatchObject({
        type: 'TaskFailed',
        data: { stage: 'planning', reason: expect.stringMatching(/no commands: nothing would run/) },
      });
    expect(planOutcome({ ...item, group: true }, { ok: true, plan: empty, source: 'explicit' }, made).type).toBe(
      'PlanCreated',
    );
  });

  it('records no second outcome for a task skipped while its plan was being made (its cancelled planning fails)', async () => {
    const log = new MemoryEventLog();
    // given the coordinator skipped task 2, when its planning (cancelled) then fails
    const [skip] = appended(
      decisionEffects(
        start,
        { kind: 'skip', key: 'skip:2', taskId: '2', reason: 'task 1 did not complete', optional: false },
        { changed: [], now: 0 },
      ),
    );
    await log.append(skip!);
    const failure = planOutcome(item, { ok: false, reason: 'planning failed: the call was cancelled' }, made);
    // then the store keeps the skip alone: one outcome per task, whichever came first
    expect(await log.append(failure)).toMatchObject({ duplicate: true });
    expect((await log.read()).map((e) => e.type)).toEqual(['TaskSkipped']);
  });

  it('knows a redelivered item was planned (or cancelled) already at this revision, or its task ran', () => {
    const created = planOutcome(item, { ok: true, plan, source: 'explicit' }, made);
    expect(alreadyPlanned(stored([created]), 1)).toBe(true);
    expect(alreadyPlanned(stored([created]), 2)).toBe(false);
    expect(
      alreadyPlanned(stored([makeEvent('TaskCompleted', ids, { durationMs: 1, commands: 1, recoveries: 0 })]), 2),
    ).toBe(true);
    // A skipped task is answered once more (its planning cancelled): its run waits for that answer.
    const skipped = makeEvent('TaskSkipped', ids, { reason: 'x', optional: false });
    expect(alreadyPlanned(stored([skipped]), 2)).toBe(false);
    const cancelled = planOutcome(item, { ok: false, reason: 'planning cancelled: skipped', cancelled: true }, made);
    expect(cancelled).toMatchObject({
      type: 'PlanCancelled',
      data: { revision: 1, reason: 'planning cancelled: skipped' },
    });
    expect(alreadyPlanned(stored([skipped, cancelled]), 1)).toBe(true);
  });
});

describe('executor records', () => {
  const item: ExecuteTask = {
    runId: 'r',
    taskId: '2',
    workdir: '/w',
    plan: explicitPlan(tasks[1]!),
    planEventId: 'p',
    llm: 'offline',
    commandConcurrency: 1,
    generation: 0,
  };

  it('records the task outcome under the task id, a failure with its stage and command', () => {
    expect(taskOutcome(item, { ok: true, commands: 1, recoveries: 0, evidence: 'commands' }, 5)).toMatchObject({
      type: 'TaskCompleted',
      id: 'r:2:outcome',
      data: { durationMs: 5 },
    });
    expect(taskOutcome(item, { ok: false, stage: 'execution', reason: 'exit 2', commandId: 'c1' }, 5)).toMatchObject({
      type: 'TaskFailed',
      data: { stage: 'execution', commandId: 'c1' },
    });
  });

  it('records how a recovery came out, a pattern verdict as from a pattern', () => {
    const fix = {
      decision: 'fix' as const,
      strategyId: 's1',
      source: 'llm' as const,
      commands: ['mkdir -p out'],
      retry: true,
    };
    expect(recoveryOutcome(item, { commandId: 'c1', attempt: 1, reply: fix, resolved: true }, 7)).toMatchObject({
      type: 'RecoveryResolved',
      id: 'r:2:c1:1:RecoveryResolved',
      data: { source: 'llm', durationMs: 7 },
    });
    const benign = { decision: 'benign' as const, strategyId: 'warn', patternId: 'npm-warn', holds: 'true' };
    expect(recoveryOutcome(item, { commandId: 'c1', attempt: 2, reply: benign, resolved: false }, 1)).toMatchObject({
      type: 'RecoveryFailed',
      data: { source: 'pattern', reason: 'failed', patternId: 'npm-warn' },
    });
  });
});

describe('recoverer core', () => {
  const request: RecoverRequest = {
    runId: 'r',
    taskId: '2',
    workdir: '/w',
    commandId: 'c1',
    command: 'make',
    exitCode: 2,
    timedOut: false,
    stdoutTail: '',
    stderrTail: 'boom',
    attempt: 1,
    tried: [],
    llm: 'offline',
  };

  it('records a fix before it is answered, and nothing for a give-up', () => {
    expect(attemptEvents(request, { decision: 'give-up', reason: 'no pattern' })).toEqual([]);
    const [attempted] = attemptEvents(request, {
      decision: 'fix',
      strategyId: 'mkdir',
      source: 'pattern',
      patternId: 'missing-dir',
      commands: ['mkdir -p out'],
      retry: true,
    });
    expect(attempted).toMatchObject({
      type: 'RecoveryAttempted',
      id: 'r:2:c1:1:RecoveryAttempted',
      data: { commands: ['mkdir -p out'], retry: true, patternId: 'missing-dir' },
    });
  });
});
