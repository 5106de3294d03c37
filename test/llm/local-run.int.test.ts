import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlanner } from '../helpers/demo-planner.ts';
import { llamaModels, llamaServer } from '../helpers/fake-llama.ts';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm.ts';
import { CLI, ofType, runCli, workspaces } from '../helpers/cli.ts';
import { startTestNats } from '../helpers/nats.ts';

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

const EIGHT = Array.from(
  { length: 8 },
  (_, i) => `- [ ] ${i + 1}. Write docs/part-${i + 1}.md\n  - Describe part ${i + 1} of the system for readers\n`,
).join('');

/**
 * A run against a llama-server stand-in (test/helpers/fake-llama.ts) with default settings: 4
 * slots over one cache too small for 8 calls at once, json_schema refused under its default
 * template, a model id it does not check, `/v1/models` listing its alias and context.
 */
describe('a local llama-server with default settings', () => {
  it('runs 8 prose tasks: overload adapts, no request over its context, every attempt counted once and alike everywhere', async () => {
    const llama = llamaServer(demoPlanner(), { slots: 4, cacheTokens: 2400, slotContext: 2048 });
    const server = await startFakeLlm({ responder: llama.responder, models: llamaModels('tiny-random', 2048) });
    servers.push(server);
    const w = await ws.make(EIGHT);
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: server.baseUrl };
    const run = await runCli(['run', w.tasks, '--workdir', w.dir], env, w.dir);
    expect(run.result.exitCode, run.result.stderr).toBe(0);
    expect(run.result.stderr).toMatch(/does not serve "gpt-4o-mini" \(IMPLEMENT_AGENT_MODEL.*"tiny-random"/);
    expect(await readFile(w.tasks, 'utf8')).toBe(EIGHT.replaceAll('- [ ]', '- [x]'));
    expect(ofType(run.events, 'TaskFailed')).toEqual([]);
    expect(llama.stats.overContext).toEqual([]);
    expect(llama.stats.samplerRefusals).toBeGreaterThan(0);
    expect(llama.stats.overloads).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.body.model === 'tiny-random' && typeof r.body.max_tokens === 'number')).toBe(
      true,
    );
    const calls = ofType(run.events, 'LlmCalled');
    expect(calls).toHaveLength(server.requests.length);
    expect(calls.filter((c) => c.data.outcome === 'overloaded')).toHaveLength(llama.stats.overloads);
    const learned = ofType(run.events, 'LlmCapabilityLearned').map((e) => e.data.setting);
    expect(learned).toContain('structuredOutput');
    expect(learned).toContain('contextTokens');
    expect(learned).toContain('concurrency');

    const runId = run.events[0]!.runId;
    const tokens = calls.reduce((n, c) => n + (c.data.promptTokens ?? 0) + (c.data.completionTokens ?? 0), 0);
    const status = await execa(process.execPath, [CLI, 'status', runId, '--json'], { env, cwd: w.dir });
    const json = JSON.parse(status.stdout) as { tokens: number; usage: { calls: number } };
    expect(json.usage.calls).toBe(calls.length);
    expect(json.tokens).toBe(tokens);
  });
});

it('run --dry calls no LLM, and names the tasks that need it', async () => {
  const server = await startFakeLlm({ responder: demoPlanner() });
  servers.push(server);
  const w = await ws.make('- [ ] 1. Write docs/a.md\n- [ ] 2. Say hello\n  ```bash\n  echo hello\n  ```\n');
  const env = { NATS_URL: nats.url, OPENAI_BASE_URL: server.baseUrl };
  const dry = await execa(process.execPath, [CLI, 'run', w.tasks, '--workdir', w.dir, '--dry'], { env, cwd: w.dir });
  expect(dry.stdout).toContain('plan: needs the LLM, not asked (--dry makes no LLM call; --dry --plan does)');
  expect(dry.stdout).toMatch(/1 of 2 task\(s\) need the LLM to be planned .*: 1/);
  expect(server.requests).toEqual([]);
});

describe('llm check', () => {
  it('says which mode it will use after a refusal that never names json_schema, and only what it saw work', async () => {
    const llama = llamaServer(() => JSON.stringify({ sum: 5 }));
    const server = await startFakeLlm({ responder: llama.responder, models: llamaModels('tiny-random') });
    servers.push(server);
    const w = await ws.make('');
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: server.baseUrl, IMPLEMENT_AGENT_MODEL: 'tiny-random' };
    const check = await execa(process.execPath, [CLI, 'llm', 'check'], { env, cwd: w.dir });
    expect(check.stdout).toMatch(
      /structured output\s+json_object \(used from now on\) \(degraded: 400: Failed to initialize samplers/,
    );
    expect(check.stdout).toMatch(/context\s+4096 tokens/);
    expect(check.stdout).toContain('"structuredOutput": "json_object"');
  });

  it('answers in seconds from a slow model that never stops: a small probe, whose reply in the form asked proves it', async () => {
    // 20 ms a token: the 1,024-token check of before took 20 s here; the real tiny model took 181 s.
    const llama = llamaServer(() => JSON.stringify({ sum: 5 }), { runaway: true, msPerToken: 20 });
    const server = await startFakeLlm({ responder: llama.responder, models: llamaModels('tiny-random') });
    servers.push(server);
    const w = await ws.make('');
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: server.baseUrl, IMPLEMENT_AGENT_MODEL: 'tiny-random' };
    const check = await execa(process.execPath, [CLI, 'llm', 'check', '--json'], { env, cwd: w.dir });
    const result = JSON.parse(check.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ ok: true, cutAtTokens: 32, accepted: { structuredOutput: 'json_object' } });
    expect(server.requests.map((r) => [r.body.max_tokens, r.body.stream])).toEqual([
      [32, true],
      [32, true],
    ]);
  });

  it('prints no "accepted" line for an endpoint nothing listens on, and exits 5 (infrastructure)', async () => {
    const closed = await startFakeLlm({ responder: demoPlanner() });
    await closed.close();
    const w = await ws.make('');
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: closed.baseUrl };
    const check = await execa(process.execPath, [CLI, 'llm', 'check'], { env, cwd: w.dir, reject: false });
    expect(check.exitCode).toBe(5);
    expect(check.stderr).toMatch(/cannot be reached/);
    expect(check.stdout).not.toMatch(/accepted/);
  });

  it('a model the server does not list is exit 2 naming IMPLEMENT_AGENT_MODEL and the models listed', async () => {
    const server = await startFakeLlm({ responder: demoPlanner(), models: [{ id: 'qwen3:8b' }, { id: 'gemma3:4b' }] });
    servers.push(server);
    const w = await ws.make('- [ ] 1. Write docs/a.md\n');
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: server.baseUrl };
    const check = await execa(process.execPath, [CLI, 'llm', 'check'], { env, cwd: w.dir, reject: false });
    expect(check.exitCode).toBe(2);
    expect(check.stderr).toMatch(/"gpt-4o-mini": set IMPLEMENT_AGENT_MODEL .*qwen3:8b, gemma3:4b/);
    const run = await execa(process.execPath, [CLI, 'run', w.tasks, '--workdir', w.dir], {
      env,
      cwd: w.dir,
      reject: false,
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/set IMPLEMENT_AGENT_MODEL .*qwen3:8b, gemma3:4b/);
    expect(server.requests).toEqual([]);
  });
});
