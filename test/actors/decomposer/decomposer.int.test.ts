import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlanner } from '../../helpers/demo-planner.ts';
import { startFakeLlm, type FakeLlm } from '../../helpers/fake-llm.ts';
import { ofType, runCli, workspaces } from '../../helpers/cli.ts';
import { startTestNats } from '../../helpers/nats.ts';

let server: Awaited<ReturnType<typeof startTestNats>>;
let llm: FakeLlm;
const ws = workspaces();

beforeAll(async () => {
  server = await startTestNats();
  llm = await startFakeLlm({ latencyMs: 50, responder: demoPlanner() });
});
afterAll(async () => {
  await llm?.close();
  await server?.stop();
  await ws.cleanup();
});

const TASKS =
  '- [ ] 1. Create the file docs/alpha.md\n  - Requirements: 1.1\n- [ ] 2. Create the file docs/beta.md\n  - Requirements: 2.1\n';
const REQUIREMENTS =
  '# Requirements\n\n### Requirement 1\n1.1 Alpha docs exist\n\n### Requirement 2\n2.1 Beta docs exist\n';
const DESIGN = '# Design\n\n## Alpha\nThe alpha page is markdown.\n\n## Beta\nThe beta page is markdown.\n';

async function project(tasks: string, strategy = 'batched', extra: Record<string, unknown> = {}) {
  const w = await ws.make(tasks);
  await writeFile(join(w.dir, 'requirements.md'), REQUIREMENTS);
  await writeFile(join(w.dir, 'design.md'), DESIGN);
  await writeFile(
    join(w.dir, 'implement-agent.config.json'),
    JSON.stringify({ llm: { strategy, maxRetries: 0, timeoutMs: 10_000 }, ...extra }),
  );
  return w;
}

function run(w: { dir: string; tasks: string }, args: string[] = [], nats = server.url) {
  return runCli(
    ['run', w.tasks, '--workdir', w.dir, '--force', ...args],
    { NATS_URL: nats, OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'test-key' },
    w.dir,
  );
}

const of = ofType;

describe('decomposer with an OpenAI-compatible server', () => {
  it.each([
    ['sequential', 5],
    ['batched', 2],
    ['single', 1],
  ] as const)('%s strategy makes %i calls per task', async (strategy, calls) => {
    const w = await project(`- [ ] 1. Create the file out/${strategy}-only.txt\n`, strategy);
    const before = llm.requests.length;
    llm.setLatency(400);
    const { result, events } = await run(w).finally(() => llm.setLatency(50));
    expect(result.exitCode, result.stderr).toBe(0);
    const made = llm.requests.slice(before);
    expect(made).toHaveLength(calls);
    expect(of(events, 'LlmCalled')).toHaveLength(calls);
    expect(of(events, 'PlanCreated')[0]!.data).toMatchObject({ source: 'llm', strategy });
    if (strategy === 'batched') {
      // Both calls were in flight together: the second arrived before the first was answered.
      expect(Math.abs(made[1]!.at - made[0]!.at)).toBeLessThan(400);
      expect(made.map((r) => r.schemaName).sort()).toEqual(['plan_analysis', 'plan_criteria']);
    }
    if (strategy === 'sequential') {
      // Each question waits for the answer to the one before.
      for (let i = 1; i < made.length; i++) expect(made[i]!.at - made[i - 1]!.at).toBeGreaterThanOrEqual(390);
      expect(made.map((r) => r.schemaName)).toEqual([
        'plan_complexity',
        'plan_commands',
        'plan_decisionPoints',
        'plan_successCriteria',
        'plan_fallbacks',
      ]);
    }
    expect(await readFile(join(w.dir, `out/${strategy}-only.txt`), 'utf8')).toContain('made by the plan');
  });

  it('plans a repeated task list from the cache with no LLM call; a changed design section re-plans only its task', async () => {
    const w = await project(TASKS);
    const first = await run(w);
    expect(first.result.exitCode, first.result.stderr).toBe(0);
    expect(of(first.events, 'PlanCreated').map((e) => e.data.source)).toEqual(['llm', 'llm']);

    // The same project state as the first run planned against: the files the tasks name are absent.
    await rm(join(w.dir, 'docs'), { recursive: true });
    const before = llm.requests.length;
    const second = await run(w);
    expect(second.result.exitCode, second.result.stderr).toBe(0);
    expect(llm.requests.length).toBe(before);
    expect(of(second.events, 'PlanCacheHit').map((e) => e.data.match)).toEqual(['exact', 'exact']);
    expect(of(second.events, 'PlanCreated').map((e) => e.data.source)).toEqual(['cache', 'cache']);

    await writeFile(
      join(w.dir, 'design.md'),
      DESIGN.replace('The beta page is markdown.', 'The beta page is plain text.'),
    );
    await rm(join(w.dir, 'docs'), { recursive: true });
    const third = await run(w);
    expect(third.result.exitCode, third.result.stderr).toBe(0);
    expect(of(third.events, 'PlanCreated').map((e) => [e.taskId, e.data.source])).toEqual([
      ['1', 'cache'],
      ['2', 'llm'],
    ]);
    expect(of(third.events, 'PlanCacheMiss')[0]!.data.reason).toMatch(/^context changed since entry/);
  });

  it('serves a similar task from an adapted cached plan, and validates it first', async () => {
    const w = await project('- [ ] 1. Create the module file lib/gamma.js\n');
    expect((await run(w)).result.exitCode).toBe(0);
    await writeFile(w.tasks, '- [ ] 1. Create the module file lib/delta.js\n');
    const before = llm.requests.length;
    const { result, events } = await run(w);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(llm.requests.length).toBe(before);
    expect(of(events, 'PlanCacheHit')[0]!.data).toMatchObject({
      match: 'similar',
      adaptations: [{ from: 'lib/gamma.js', to: 'lib/delta.js' }],
    });
    expect(of(events, 'CommandStarted')[0]!.data.command).toContain('lib/delta.js');
    expect(await readFile(join(w.dir, 'lib/delta.js'), 'utf8')).toContain('lib/delta.js');
  });

  it('rebuilds the cache from the log in a restarted decomposer (no cache file of its own)', async () => {
    const fresh = await startTestNats();
    try {
      const w = await project('- [ ] 1. Create the file kept/epsilon.txt\n');
      expect((await run(w, [], fresh.url)).result.exitCode).toBe(0);
      await rm(join(w.dir, 'kept'), { recursive: true });
      const before = llm.requests.length;
      const again = await run(w, [], fresh.url);
      expect(again.result.exitCode).toBe(0);
      expect(llm.requests.length).toBe(before);
      expect(of(again.events, 'PlanCreated')[0]!.data.source).toBe('cache');
    } finally {
      await fresh.stop();
    }
  });

  it.each([
    ['garbage', 'this is not json at all', /not valid JSON/],
    ['truncated JSON', '{"complexity": {"level": "low", "estim', /not valid JSON/],
    ['valid JSON of the wrong shape', '{"steps": ["do it"]}', /wrong shape at complexity/],
  ])('fails the task clearly on a %s reply (after one repair attempt)', async (_, reply, message) => {
    llm.setResponder(() => reply);
    try {
      const w = await project(`- [ ] 1. Create the file bad/${reply.length}.txt\n`, 'single');
      const before = llm.requests.length;
      const { result, events } = await run(w);
      expect(result.exitCode).toBe(1);
      expect(llm.requests.length - before).toBe(2);
      const failed = of(events, 'TaskFailed')[0]!;
      expect(failed.data.stage).toBe('planning');
      expect(failed.data.reason).toMatch(/not valid after one repair attempt/);
      expect(failed.data.reason).toMatch(message);
    } finally {
      llm.setResponder(demoPlanner());
    }
  });

  it('fails at planning a task the LLM planned with no commands, never caches that plan, and ticks nothing', async () => {
    const emptyPlan = {
      complexity: { level: 'low', estimatedSteps: 0, risks: [], confidence: 0.9 },
      commands: [],
      decisionPoints: [],
      successCriteria: [],
      fallbacks: [],
    };
    llm.setResponder(() => JSON.stringify(emptyPlan));
    try {
      const w = await project('- [ ] 1. Write the changelog\n', 'single');
      for (const attempt of [1, 2]) {
        const before = llm.requests.length;
        const { result, events } = await run(w);
        expect(result.exitCode, `run ${attempt}: ${result.stderr}`).toBe(1);
        // Asked again on the second run: the empty plan was not cached.
        expect(llm.requests.length - before).toBe(1);
        expect(of(events, 'PlanCreated')).toHaveLength(0);
        expect(of(events, 'TaskFailed').map((e) => e.data)).toEqual([
          {
            stage: 'planning',
            reason: 'the LLM returned a plan with no commands: nothing would run, so nothing could show the task done',
          },
        ]);
      }
      expect(await readFile(w.tasks, 'utf8')).toContain('- [ ] 1. Write the changelog');
    } finally {
      llm.setResponder(demoPlanner());
    }
  });

  it('says how to configure an LLM when a task needs one and it is offline', async () => {
    const w = await project('- [ ] 1. Create the file off/line.txt\n');
    const { result, events } = await runCli(
      ['run', w.tasks, '--workdir', w.dir, '--llm', 'offline'],
      { NATS_URL: server.url },
      w.dir,
    );
    expect(result.exitCode).toBe(1);
    expect(of(events, 'TaskFailed')[0]!.data.reason).toMatch(
      /needs an LLM, but the LLM is offline. Set OPENAI_API_KEY/,
    );
  });
});
