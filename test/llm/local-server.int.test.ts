import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ConfigSchema } from '../../src/config.ts';
import { InputError, LlmError } from '../../src/errors.ts';
import { cancelCalls } from '../../src/llm/in-flight.ts';
import { analysisReply, criteriaReply } from '../../src/llm/plan-replies.ts';
import { probeLlm } from '../../src/llm/probe.ts';
import { demoPlanner } from '../helpers/demo-planner.ts';
import { llamaModels, llamaServer } from '../helpers/fake-llama.ts';
import { clientFor, scope, ask } from '../helpers/llm-client.ts';
import { startFakeLlm, type FakeLlm, type Responder } from '../helpers/fake-llm.ts';

/**
 * The LLM client against local model servers as they answer (test/helpers/fake-llama.ts: the
 * llama-server behaviours measured in ../shared/real-llm and read in its source), through the
 * real openai SDK over HTTP.
 */
const servers: FakeLlm[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  responder: Responder,
  extra: Parameters<typeof startFakeLlm>[0] extends infer O ? Partial<O> : never = {},
) {
  const server = await startFakeLlm({ responder, ...extra });
  servers.push(server);
  return server;
}

describe('a llama-server under its default template', () => {
  it('refuses json_schema without naming it; the next mode gives the plan, and is kept only once it worked', async () => {
    const llama = llamaServer(demoPlanner());
    const server = await serve(llama.responder);
    const { client, calls, learned } = clientFor(server.baseUrl);
    const reply = await client.structured(scope, 'plan_analysis', analysisReply, ask('Write docs/a.md'));
    expect(reply.commands[0]?.command).toContain('docs/a.md');
    expect(llama.stats.samplerRefusals).toBe(1);
    expect(calls.map((c) => [c.outcome, c.status, c.attempt])).toEqual([
      ['refused', 400, 1],
      ['ok', 200, 2],
    ]);
    expect(learned.map((l) => [l.setting, l.value])).toEqual([['structuredOutput', 'json_object']]);
    // The next call starts in the mode that worked.
    await client.structured(scope, 'plan_criteria', criteriaReply, ask('Write docs/a.md'));
    expect(llama.stats.samplerRefusals).toBe(1);
  });

  it('learns nothing from refusals when no mode works, and says what the endpoint answered', async () => {
    const server = await serve(() => ({
      status: 400,
      body: JSON.stringify({ error: { message: 'bad request', type: 'invalid_request_error' } }),
    }));
    const { client, calls, learned } = clientFor(server.baseUrl);
    const error = await client.structured(scope, 'plan_analysis', analysisReply, ask('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as Error).message).toMatch(
      new RegExp(`plan_analysis to ${server.baseUrl} \\(model tiny\\) failed: HTTP 400: bad request`),
    );
    // json_schema, json_object, text, then text asked whole (the refusal might have been of streaming).
    expect(calls.map((c) => c.outcome)).toEqual(['refused', 'refused', 'refused', 'refused']);
    expect(server.requests.map((r) => r.body.stream ?? false)).toEqual([true, true, true, false]);
    expect(learned).toEqual([]);
  });
});

describe('a reply cut off at its cap', () => {
  it('is not repaired by resending it: asked once more with a larger cap, then an error naming the cap and llm.maxOutputTokens', async () => {
    const llama = llamaServer(demoPlanner(), {
      runaway: true,
      slotContext: 100_000,
      cacheTokens: 400_000,
      msPerToken: 0.01,
    });
    const server = await serve(llama.responder);
    const { client, calls } = clientFor(server.baseUrl, { structuredOutput: 'json_object' });
    const error = await client
      .structured(scope, 'plan_analysis', analysisReply, ask('Write a.md'))
      .catch((e: unknown) => e);
    expect((error as LlmError).kind).toBe('truncated');
    expect((error as Error).message).toMatch(/cut off at its output cap of 8192 tokens.*raise llm\.maxOutputTokens/);
    expect(calls.map((c) => [c.outcome, c.maxTokens])).toEqual([
      ['truncated', 4096],
      ['truncated', 8192],
    ]);
    expect(server.requests.every((r) => !r.messages.some((m) => m.role === 'assistant'))).toBe(true);
  });

  it('gets no larger cap than the context leaves, and the error says so', async () => {
    const llama = llamaServer(demoPlanner(), { runaway: true, slotContext: 600 });
    const server = await serve(llama.responder, { models: llamaModels('tiny', 600) });
    const probed = await probeLlm(ConfigSchema.parse({ llm: { baseUrl: server.baseUrl, model: 'tiny' } }).llm);
    expect(probed.contextTokens).toBe(600);
    const { client, calls } = clientFor(server.baseUrl, { structuredOutput: 'json_object' }, [
      { setting: 'contextTokens', value: '600', reason: 'listed', endpoint: server.baseUrl, model: 'tiny' },
    ]);
    const error = await client
      .structured(scope, 'plan_analysis', analysisReply, ask('Write a.md'))
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /context of 600 tokens leaves no room for more: raise llm.maxOutputTokens/,
    );
    expect(calls).toHaveLength(1);
    expect(llama.stats.overContext).toEqual([]);
  });
});

describe('a repair request', () => {
  it('never goes over the context the endpoint refused with; a non-integer exitCode is caught at the reply and repaired', async () => {
    const planner = demoPlanner();
    const padding = 'x'.repeat(3500);
    let n = 0;
    const llama = llamaServer(
      (r) => {
        if (n++ > 0) return planner(r);
        // A long reply, of the wrong shape at one field: exitCode 0.5.
        return JSON.stringify({
          successCriteria: [{ kind: 'command', path: null, command: 'true', exitCode: 0.5, text: null }],
          fallbacks: [{ trigger: padding, commands: [] }],
        });
      },
      { slotContext: 1200, cacheTokens: 8000 },
    );
    const server = await serve(llama.responder);
    const { client, calls, learned } = clientFor(server.baseUrl, { structuredOutput: 'json_object' });
    const reply = await client.structured(scope, 'plan_criteria', criteriaReply, ask('Write a.md'));
    expect(reply.successCriteria[0]).toMatchObject({ kind: 'file_exists', path: 'a.md' });
    // The first repair carried the whole reply and was refused as over the context (learned: 1200);
    // the next fitted, with the bad reply cut, and said which field was wrong.
    expect(learned.find((l) => l.setting === 'contextTokens')?.value).toBe('1200');
    const repairs = server.requests.filter((r) => r.messages.at(-1)?.content.includes('not valid'));
    expect(repairs.at(-1)!.messages.at(-1)!.content).toContain('successCriteria.0.exitCode');
    expect(calls.at(-1)).toMatchObject({ outcome: 'ok', purpose: 'plan_criteria:repair' });
    expect(llama.stats.overContext).toHaveLength(1);
  });
});

describe('calls in flight', () => {
  it('adapt to a server whose slots share one cache: no call fails for overload that waiting avoids, every attempt is recorded', async () => {
    const llama = llamaServer(demoPlanner(), { slots: 4, cacheTokens: 1000, slotContext: 900 });
    const server = await serve(llama.responder);
    const { client, calls, learned } = clientFor(server.baseUrl);
    const titles = ['a', 'b', 'c', 'd'].map((t) => `Write docs/${t}.md`);
    const replies = await Promise.all(
      titles.flatMap((t) => [
        client.structured(scope, 'plan_analysis', analysisReply, ask(t)),
        client.structured(scope, 'plan_criteria', criteriaReply, ask(t)),
      ]),
    );
    expect(replies).toHaveLength(8);
    expect(llama.stats.overloads).toBeGreaterThan(0);
    expect(calls.filter((c) => c.outcome === 'overloaded').length).toBe(llama.stats.overloads);
    expect(calls).toHaveLength(server.requests.length);
    const concurrency = learned.filter((l) => l.setting === 'concurrency').map((l) => Number(l.value));
    expect(Math.min(...concurrency)).toBeLessThan(8);
    // The next client of this endpoint starts from what was learned.
    expect(clientFor(server.baseUrl, {}, learned).client.limiter().current).toBeLessThan(8);
  });

  it('a timeout names llm.timeoutMs, the attempts and llm.maxRetries', async () => {
    const server = await serve(demoPlanner(), { latencyMs: 2000 });
    const { client, calls } = clientFor(server.baseUrl, { timeoutMs: 100, maxRetries: 1 });
    const error = await client.structured(scope, 'plan_analysis', analysisReply, ask('x')).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /plan_analysis to .* \(model tiny\) timed out: no first token within llm\.timeoutMs = 100 ms; 2 attempt\(s\) \(llm\.maxRetries = 1\)/,
    );
    expect(calls.map((c) => c.outcome)).toEqual(['timeout', 'timeout']);
  });
});

describe('the model the endpoint serves', () => {
  const probe = (baseUrl: string, model: string) => probeLlm(ConfigSchema.parse({ llm: { baseUrl, model } }).llm);

  it('a model it does not list is exit 2 naming IMPLEMENT_AGENT_MODEL and the models listed', async () => {
    const server = await serve(demoPlanner(), { models: [{ id: 'qwen3:8b' }, { id: 'llama3.2:latest' }] });
    const error = await probe(server.baseUrl, 'gpt-4o-mini').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(
      /does not serve the model "gpt-4o-mini": set IMPLEMENT_AGENT_MODEL .* qwen3:8b, llama3.2:latest/,
    );
    // Ollama serves `llama3.2` as `llama3.2:latest`.
    expect((await probe(server.baseUrl, 'llama3.2')).model).toBe('llama3.2');
  });

  it('the one model a server lists is used with a notice, with the context it lists or its /props says', async () => {
    const listed = await serve(demoPlanner(), { models: llamaModels('tiny-random', 4096) });
    expect(await probe(listed.baseUrl, 'gpt-4o-mini')).toMatchObject({
      model: 'tiny-random',
      contextTokens: 4096,
      notice: expect.stringMatching(
        /does not serve "gpt-4o-mini" \(IMPLEMENT_AGENT_MODEL.*using the one model it lists, "tiny-random"/,
      ),
    });
    const older = await serve(demoPlanner(), {
      models: [{ id: 'tiny', owned_by: 'llamacpp' }],
      props: { default_generation_settings: { n_ctx: 2048 }, total_slots: 4 },
    });
    expect((await probe(older.baseUrl, 'tiny')).contextTokens).toBe(2048);
    const vllm = await serve(demoPlanner(), { models: [{ id: 'Qwen/Qwen3-8B', max_model_len: 32768 }] });
    expect((await probe(vllm.baseUrl, 'Qwen/Qwen3-8B')).contextTokens).toBe(32768);
  });

  it('a server without /models is taken as up', async () => {
    const server = await serve(demoPlanner(), { models: 404 });
    expect(await probe(server.baseUrl, 'anything')).toEqual({ model: 'anything', models: [] });
  });
});

describe('a call cancelled in flight', () => {
  it('closes its request, which frees the server slot at once (llama-server cancels the generation), and is recorded as cancelled', async () => {
    const slow = llamaServer(() => JSON.stringify({ sum: 5, notes: 'x'.repeat(40_000) }), {
      slots: 1,
      jinja: false,
      msPerToken: 200,
    });
    const server = await serve(slow.responder);
    const { client, calls } = clientFor(server.baseUrl, { maxOutputTokens: 8000 });
    const sum = z.object({ sum: z.number(), notes: z.string() });
    const pending = client.structured({ runId: 'rc', taskId: '2' }, 'check', sum, [{ role: 'user', content: '2+3' }]);
    await until(() => slow.stats.mostBusy === 1);
    await cancelCalls('rc', '2');
    await expect(pending).rejects.toMatchObject({ kind: 'cancelled' });
    await until(() => slow.stats.cancelled === 1);
    expect(server.aborted).toBe(1);
    expect(calls.map((c) => c.outcome)).toEqual(['cancelled']);
    // The one slot is free again: a short call is answered.
    const short = llamaServer(() => JSON.stringify({ sum: 5, notes: '' }), { slots: 1, jinja: false });
    server.setResponder(short.responder);
    await expect(
      client.structured({ runId: 'rc2' }, 'check', sum, [{ role: 'user', content: '2+3' }]),
    ).resolves.toEqual({ sum: 5, notes: '' });
  });
});

/** Polls a condition the server's stand-in reaches (no wall-clock wait for the thing itself). */
async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}
