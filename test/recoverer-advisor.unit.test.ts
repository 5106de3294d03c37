import { describe, expect, it } from 'vitest';
import { createAdvisor } from '../src/actors/recoverer/advisor.ts';
import { makeEvent } from '../src/events/agent-events.ts';
import type { RecoverRequest } from '../src/events/work-commands.ts';
import { memoryRuntime } from './helpers/runtime.ts';

const portFailure: RecoverRequest = {
  runId: 'r', taskId: '1', workdir: '/w', commandId: 'c1', command: 'node server.js', exitCode: 1, timedOut: false,
  stdoutTail: '', stderrTail: 'Error: listen EADDRINUSE: address already in use :::3000\n', attempt: 0, tried: [], llm: 'offline',
};
const outcome = (strategyId: string, resolved: boolean, i: number) => {
  const ref = { commandId: `c${i}`, attempt: 0, patternId: 'port-in-use', strategyId, source: 'pattern' as const, durationMs: 5 };
  return resolved ? makeEvent('RecoveryResolved', { runId: `old${i}`, taskId: '1' }, ref) : makeEvent('RecoveryFailed', { runId: `old${i}`, taskId: '1' }, { ...ref, reason: 'again' });
};

describe('the recoverer advisor, on the in-memory log', () => {
  it('orders strategies by the outcomes the log records, learning from new ones as they are appended', async () => {
    const rt = await memoryRuntime({ recovery: { allow: ['kills-processes'] } });
    const advisor = await createAdvisor(rt);
    try {
      // Declared priors alone: the higher one first.
      expect(await advisor.advise(portFailure)).toMatchObject({ decision: 'fix', strategyId: 'port-in-use/free-port', source: 'pattern' });
      await rt.store.appendAll([
        ...[1, 2, 3, 4, 5].map((i) => outcome('port-in-use/free-port', false, i)),
        ...[6, 7, 8].map((i) => outcome('port-in-use/wait-retry', true, i)),
      ]);
      await expect.poll(() => advisor.stats().strategies['port-in-use/wait-retry']?.attempts).toBe(3);
      expect(await advisor.advise(portFailure)).toMatchObject({ decision: 'fix', strategyId: 'port-in-use/wait-retry', source: 'learned' });
    } finally {
      await advisor.stop();
    }
  });

  it('gives up offline with the diagnosis when no pattern fixes it', async () => {
    const rt = await memoryRuntime();
    const advisor = await createAdvisor(rt);
    try {
      const reply = await advisor.advise({ ...portFailure, command: 'python3 app.py', stderrTail: "ModuleNotFoundError: No module named 'flask_extras'\n" });
      expect(reply).toEqual({ decision: 'give-up', reason: expect.stringMatching(/^python-missing-module: the Python module flask_extras is not installed.*`pip install flask_extras`.*, and the LLM is offline$/) });
    } finally {
      await advisor.stop();
    }
  });
});
