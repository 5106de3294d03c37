import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { demoPlanner } from '../helpers/demo-planner.ts';
import { gate } from '../helpers/outside.ts';
import { llamaModels, llamaServer } from '../helpers/fake-llama.ts';
import { startFakeLlm, type FakeLlm, type Responder } from '../helpers/fake-llm.ts';
import { CLI, ofType, runCli, waitForActors, workspaces } from '../helpers/cli.ts';
import { startTestNats } from '../helpers/nats.ts';

/** No tokens on tasks that will not run, and a dry run that plans ahead for the run that follows (#37). */
let nats: Awaited<ReturnType<typeof startTestNats>>;
const ws = workspaces();
const servers: FakeLlm[] = [];
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await nats?.stop();
  await ws.cleanup();
});

const prose = (n: number) =>
  Array.from({ length: n }, (_, i) => `- [ ] ${i + 1}. Write docs/part-${i + 1}.md\n  - Describe part ${i + 1}\n`).join(
    '',
  );

describe('run --dry --plan', () => {
  it('plans in parallel through the limiter, records and shows its spend, and the next run makes no LLM call for those tasks', async () => {
    const llama = llamaServer(demoPlanner(), { slots: 4, jinja: false, msPerToken: 2 });
    const server = await startFakeLlm({ responder: llama.responder, models: llamaModels('tiny-random') });
    servers.push(server);
    const w = await ws.make(prose(4));
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: server.baseUrl, IMPLEMENT_AGENT_MODEL: 'tiny-random' };
    const dry = await execa(process.execPath, [CLI, 'run', w.tasks, '--workdir', w.dir, '--dry', '--plan'], {
      env,
      cwd: w.dir,
    });
    expect(llama.stats.mostBusy).toBeGreaterThan(1);
    expect(dry.stdout.match(/drafted: the next run of this task uses it without the LLM/g)).toHaveLength(4);
    expect(dry.stdout).toContain('planned now and kept for the next run: 1, 2, 3, 4');
    const llmLine = /LLM: (\d+) call\(s\), .* \(recorded under (\S+)\)/.exec(dry.stdout);
    expect(llmLine, dry.stdout).not.toBeNull();
    expect(Number(llmLine![1])).toBe(server.requests.length);
    const asked = server.requests.length;

    // A plain dry run now finds them in the cache, as drafted: nothing needs the LLM.
    const again = await execa(process.execPath, [CLI, 'run', w.tasks, '--workdir', w.dir, '--dry'], {
      env,
      cwd: w.dir,
    });
    expect(again.stdout.match(/cache hit \(drafted by run --dry --plan, unproven/g)).toHaveLength(4);
    expect(again.stdout).toMatch(/0 of 4 task\(s\) need the LLM/);

    const run = await runCli(['run', w.tasks, '--workdir', w.dir], env, w.dir);
    expect(run.result.exitCode, run.result.stderr).toBe(0);
    expect(server.requests).toHaveLength(asked);
    expect(ofType(run.events, 'PlanCacheHit').map((e) => e.data.match)).toEqual(Array(4).fill('drafted'));
    expect(ofType(run.events, 'LlmCalled')).toEqual([]);
  });

  it('is refused without --dry, and with --json', async () => {
    const w = await ws.make(prose(1));
    const env = { NATS_URL: nats.url };
    const alone = await execa(process.execPath, [CLI, 'run', w.tasks, '--plan'], { env, cwd: w.dir, reject: false });
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toMatch(/--plan goes with --dry/);
  });
});

describe('tasks that will not run', () => {
  it(
    'under `up`, the planning of tasks skipped after a failure is cancelled and recorded, and the run ends after it',
    { timeout: 180_000 },
    async () => {
      // Task 1 waits outside its project: a file written into it later is not in the task's view.
      const planning = await gate();
      onTestFinished(() => planning.remove());
      const w = await ws.make(
        [
          '- [ ] 1. Fail once the others are being planned',
          '  ```bash',
          `  ${planning.wait}; false`,
          '  ```',
          '- [ ] 2. Write docs/two.md',
          '- [ ] 3. Write docs/three.md',
          '',
        ].join('\n'),
      );
      // Planning requests are held until their client closes them: only a cancellation ends them.
      // Task 1's recovery is told to give up, so it fails at once.
      let held = 0;
      const hold: Responder = (r) =>
        new Promise((resolve) => {
          if (r.schemaName === 'recovery')
            return resolve(
              JSON.stringify({ diagnosis: 'meant to fail', action: 'give-up', commands: [], retry: false }),
            );
          held++;
          if (held === 4) void planning.open();
          r.signal.addEventListener('abort', () => resolve({ status: 499, body: '{}' }));
        });
      const server = await startFakeLlm({ responder: hold, models: llamaModels('tiny-random') });
      servers.push(server);
      const env = { NATS_URL: nats.url, OPENAI_BASE_URL: server.baseUrl, IMPLEMENT_AGENT_MODEL: 'tiny-random' };
      const up = execa(process.execPath, [CLI, 'up'], { env: { ...env, NO_COLOR: '1' }, cwd: w.dir, reject: false });
      try {
        await waitForActors(nats.url);
        const run = await runCli(['run', w.tasks, '--workdir', w.dir, '--plan-ahead', '2'], env, w.dir);
        expect(run.result.exitCode, run.result.stderr).toBe(1);
        expect(ofType(run.events, 'TaskSkipped').map((e) => e.taskId)).toEqual(['2', '3']);
        const cancelled = ofType(run.events, 'PlanCancelled');
        expect(cancelled.map((e) => e.taskId).sort()).toEqual(['2', '3']);
        const calls = ofType(run.events, 'LlmCalled');
        const planning = calls.filter((c) => c.data.purpose.startsWith('plan'));
        expect(planning.map((c) => c.data.outcome)).toEqual(Array(4).fill('cancelled'));
        expect(server.aborted).toBe(4);
        // The run ends once its planning is answered: every call is recorded before RunFinished, so none is in flight.
        const finished = run.events.findIndex((e) => e.type === 'RunFinished');
        const lastOfPlanning = Math.max(
          ...run.events.map((e, i) => (e.type === 'LlmCalled' || e.type === 'PlanCancelled' ? i : -1)),
        );
        expect(lastOfPlanning).toBeLessThan(finished);
        const runId = run.events[0]!.runId;
        const status = await execa(process.execPath, [CLI, 'status', runId, '--json'], { env, cwd: w.dir });
        expect((JSON.parse(status.stdout) as { usage: { calls: number } }).usage.calls).toBe(calls.length);
      } finally {
        up.kill('SIGINT');
        await up;
      }
    },
  );
});
