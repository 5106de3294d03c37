import { recovererPorts } from '../../../src/host/actor-ports.ts';
import { describe, expect, it } from 'vitest';
import { createAdvisor } from '../../../src/actors/recoverer/advisor.ts';
import { makeEvent, type AgentEvent, type StoredEvent } from '../../../src/events/agent-events.ts';
import { evolveRecoveryStats, initialRecoveryStats } from '../../../src/projections/recovery-stats.ts';
import type { RecoverRequest } from '../../../src/events/work-commands.ts';
import { portInUseFailure, portInUseOutcome } from '../../helpers/port-in-use.ts';
import { memoryRuntime } from '../../helpers/runtime.ts';

const portFailure = portInUseFailure('/w');
const outcome = (strategyId: string, resolved: boolean, i: number) => {
  const ref = portInUseOutcome(strategyId, i);
  return resolved
    ? makeEvent('RecoveryResolved', { runId: `old${i}`, taskId: '1' }, ref)
    : makeEvent('RecoveryFailed', { runId: `old${i}`, taskId: '1' }, { ...ref, reason: 'again' });
};

describe('the recoverer advisor, on the in-memory log', () => {
  it('orders strategies by the outcomes the log records, learning from new ones as they are appended', async () => {
    const rt = await memoryRuntime({ recovery: { allow: ['kills-processes'] } });
    const advisor = await createAdvisor(rt, recovererPorts);
    try {
      // Declared priors alone: the higher one first.
      expect(await advisor.advise(portFailure)).toMatchObject({
        decision: 'fix',
        strategyId: 'port-in-use/free-port',
        source: 'pattern',
      });
      await rt.store.appendAll([
        ...[1, 2, 3, 4, 5].map((i) => outcome('port-in-use/free-port', false, i)),
        ...[6, 7, 8].map((i) => outcome('port-in-use/wait-retry', true, i)),
      ]);
      await expect.poll(() => advisor.stats().strategies['port-in-use/wait-retry']?.attempts).toBe(3);
      expect(await advisor.advise(portFailure)).toMatchObject({
        decision: 'fix',
        strategyId: 'port-in-use/wait-retry',
        source: 'learned',
      });
    } finally {
      await advisor.stop();
    }
  });

  it('gives up offline with the diagnosis when no pattern fixes it', async () => {
    const rt = await memoryRuntime();
    const advisor = await createAdvisor(rt, recovererPorts);
    try {
      const reply = await advisor.advise({
        ...portFailure,
        command: 'python3 app.py',
        stderrTail: "ModuleNotFoundError: No module named 'flask_extras'\n",
      });
      expect(reply).toEqual({
        decision: 'give-up',
        reason: expect.stringMatching(
          /^python-missing-module: the Python module flask_extras is not installed.*`pip install flask_extras`.*, and the LLM is offline$/,
        ),
      });
    } finally {
      await advisor.stop();
    }
  });
});

/** A failed command, the LLM's fix for it, and how the fix came out: as the executor and recoverer record them. */
function llmFixed(
  runId: string,
  failure: { command: string; stderrTail: string },
  fix: string[],
  resolved: boolean,
): AgentEvent[] {
  const task = { runId, taskId: '1' };
  const ref = { commandId: 'c1', attempt: 0, strategyId: `llm/${fix.join('+')}`, source: 'llm' as const };
  return [
    makeEvent('CommandFinished', task, {
      commandId: 'c1',
      command: failure.command,
      attempt: 0,
      purpose: 'plan',
      exitCode: 3,
      signal: null,
      timedOut: false,
      durationMs: 4,
      startedAt: '2026-01-01T00:00:00.000Z',
      stdoutTail: '',
      stderrTail: failure.stderrTail,
      truncated: false,
      redacted: [],
    }),
    makeEvent('RecoveryAttempted', task, { ...ref, commands: fix, retry: true }),
    resolved
      ? makeEvent('RecoveryResolved', task, { ...ref, durationMs: 9 })
      : makeEvent('RecoveryFailed', task, { ...ref, durationMs: 9, reason: 'failed again' }),
    makeEvent(
      resolved ? 'TaskCompleted' : 'TaskFailed',
      task,
      resolved ? { durationMs: 20, commands: 1, recoveries: 1 } : { stage: 'recovery', reason: 'failed again' },
    ),
  ] as AgentEvent[];
}

describe('fixes learned from the LLM', () => {
  const flag = {
    command: 'test -f flag.ok || { echo "E9: flag.ok is missing" >&2; exit 3; }',
    stderrTail: 'E9: flag.ok is missing\n',
  };
  const request: RecoverRequest = { ...portFailure, ...flag, exitCode: 3 };
  const fold = (events: AgentEvent[]) =>
    events.map((e, i): StoredEvent => ({ ...e, seq: i + 1 })).reduce(evolveRecoveryStats, initialRecoveryStats());

  it('files a fix that resolved a failure under that failure, and forgets what a finished task left open', () => {
    const stats = fold(llmFixed('r1', flag, ['touch flag.ok'], true));
    expect(Object.values(stats.learned)).toEqual([
      expect.objectContaining({
        strategyId: 'llm/touch flag.ok',
        commands: ['touch flag.ok'],
        retry: true,
        successes: 1,
        failures: 0,
      }),
    ]);
    expect(stats.failing).toEqual({});
    expect(stats.trying).toEqual({});
    expect(Object.keys(fold(llmFixed('r1', flag, ['true'], false)).learned)).toEqual([]);
  });

  it('does not learn a fix whose task completed unverified, nor count it a success of its strategy', () => {
    // given an LLM fix that replaced the failed command (no retry), and the task completed without evidence
    const events = llmFixed('r1', flag, ['echo done'], true).map((e) =>
      e.type === 'RecoveryAttempted'
        ? { ...e, data: { ...e.data, retry: false } }
        : e.type === 'TaskCompleted'
          ? { ...e, data: { ...e.data, evidence: 'none' as const } }
          : e,
    );
    // then nothing is learned, and the strategy has an attempt without a success
    const stats = fold(events);
    expect(stats.learned).toEqual({});
    expect(stats.strategies['llm/echo done']).toEqual({ attempts: 1, successes: 0 });
    expect(stats.resolved).toEqual({});
    // while the same with evidence is learned
    expect(fold(llmFixed('r1', flag, ['echo done'], true)).strategies['llm/echo done']).toEqual({
      attempts: 1,
      successes: 1,
    });
  });

  it('offers the fix again for the same failure without the LLM (offline too), not for another, and not once it fails as often as it works', async () => {
    const rt = await memoryRuntime();
    await rt.store.appendAll(llmFixed('r1', flag, ['touch flag.ok'], true));
    const advisor = await createAdvisor(rt, recovererPorts);
    try {
      expect(await advisor.advise(request)).toMatchObject({
        decision: 'fix',
        source: 'learned',
        strategyId: 'llm/touch flag.ok',
        commands: ['touch flag.ok'],
        retry: true,
      });
      expect(await advisor.advise({ ...request, stderrTail: 'E9: other.ok is missing\n' })).toMatchObject({
        decision: 'give-up',
      });
      // Already tried on this failure: not again.
      expect(
        await advisor.advise({ ...request, tried: [{ strategyId: 'llm/touch flag.ok', fingerprint: 'x' }] }),
      ).toMatchObject({ decision: 'give-up' });
      await rt.store.appendAll(llmFixed('r2', flag, ['touch flag.ok'], false));
      await expect.poll(() => Object.values(advisor.stats().learned)[0]?.failures).toBe(1);
      expect(await advisor.advise(request)).toMatchObject({ decision: 'give-up' });
    } finally {
      await advisor.stop();
    }
  });

  it('leaves a learned fix alone when the policy now denies one of its commands', async () => {
    const rt = await memoryRuntime();
    await rt.store.appendAll(llmFixed('r1', flag, ['apt-get install -y flagd'], true));
    const advisor = await createAdvisor(rt, recovererPorts);
    try {
      expect(await advisor.advise(request)).toMatchObject({ decision: 'give-up' });
    } finally {
      await advisor.stop();
    }
  });
});
