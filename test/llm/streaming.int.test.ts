import { afterEach, describe, expect, it } from 'vitest';
import { LlmError } from '../../src/errors.ts';
import { analysisReply } from '../../src/llm/plan-replies.ts';
import { demoPlanner } from '../helpers/demo-planner.ts';
import { llamaServer } from '../helpers/fake-llama.ts';
import { clientFor, scope, ask } from '../helpers/llm-client.ts';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm.ts';

/**
 * Replies read as they are generated (server-sent events, through the real openai SDK): a server
 * that is slow but generating is waited for; one that stops sending is cut off after
 * llm.timeoutMs; one that refuses streaming is asked for whole replies, and that is remembered.
 */
const servers: FakeLlm[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(options: Parameters<typeof startFakeLlm>[0]) {
  const server = await startFakeLlm(options);
  servers.push(server);
  return server;
}

const planner = demoPlanner();

describe('a streamed reply', () => {
  it('from a slow but steady server is waited for, longer in all than llm.timeoutMs, and counted with its usage', async () => {
    const server = await serve({
      responder: async (r) => {
        const content = await planner(r);
        return typeof content === 'string' ? { content, chunkMs: 200 } : content;
      },
    });
    const { client, calls } = clientFor(server.baseUrl, { timeoutMs: 1000, maxRetries: 0 });
    const started = performance.now();
    const reply = await client.structured(scope, 'plan_analysis', analysisReply, ask('Write docs/a.md'));
    expect(reply.commands[0]?.command).toContain('docs/a.md');
    // Chunks every 200 ms, for longer than the 1,000 ms of llm.timeoutMs: progress, not a timeout.
    expect(performance.now() - started).toBeGreaterThan(1000);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ outcome: 'ok', attempt: 1, status: 200 });
    expect(calls[0]!.completionTokens).toBeGreaterThan(5);
    expect(calls[0]!.promptTokens).toBeGreaterThan(0);
    expect(server.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('that stops coming is cut off after llm.timeoutMs without a chunk, each attempt recorded, and the error names the knob', async () => {
    const server = await serve({
      responder: async (r) => {
        const content = await planner(r);
        return typeof content === 'string' ? { content, stallAfter: 3 } : content;
      },
    });
    const { client, calls } = clientFor(server.baseUrl, { timeoutMs: 300, maxRetries: 1 });
    const error = await client.structured(scope, 'plan_analysis', analysisReply, ask('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as Error).message).toMatch(
      /plan_analysis to .* \(model tiny\) timed out: no chunk for llm\.timeoutMs = 300 ms after 4 chunk\(s\); 2 attempt\(s\) \(llm\.maxRetries = 1\); raise llm\.timeoutMs/,
    );
    expect(calls.map((c) => c.outcome)).toEqual(['timeout', 'timeout']);
    // The client closed each stalled request: the server may free its slot.
    await expect.poll(() => server.aborted).toBe(2);
  });

  it('that llama-server fails under way (its 500 as a data: chunk after the 200) is overload: retried, and the plan comes', async () => {
    // Slots sharing a cache too small for two replies at once: one generation fails the other.
    const llama = llamaServer(planner, { jinja: false, cacheTokens: 1500, slotContext: 4096, msPerToken: 2 });
    const server = await serve({ responder: llama.responder });
    const { client, calls } = clientFor(server.baseUrl, { concurrency: 4 });
    const replies = await Promise.all(
      [1, 2, 3].map((n) =>
        client.structured(
          { runId: 'r1', taskId: String(n) },
          'plan_analysis',
          analysisReply,
          ask(`Write docs/${n}.md`),
        ),
      ),
    );
    expect(replies.map((r) => r.commands[0]?.command)).toEqual([
      expect.stringContaining('docs/1.md'),
      expect.stringContaining('docs/2.md'),
      expect.stringContaining('docs/3.md'),
    ]);
    expect(llama.stats.overloads).toBeGreaterThan(0);
    expect(calls.filter((c) => c.outcome === 'overloaded').length).toBe(llama.stats.overloads);
    expect(calls.filter((c) => c.outcome === 'ok')).toHaveLength(3);
  });
});

describe('an endpoint that refuses streaming', () => {
  const refuseStream = {
    status: 400,
    body: JSON.stringify({
      error: {
        message: "Unsupported value: 'stream' does not support true with this model. Supported values are: false.",
        type: 'invalid_request_error',
        param: 'stream',
        code: 'unsupported_value',
      },
    }),
  };

  it('gets a plain request at once, which is remembered for the next call and the next client', async () => {
    const server = await serve({ responder: planner, refuseStream });
    const { client, calls, learned } = clientFor(server.baseUrl);
    const reply = await client.structured(scope, 'plan_analysis', analysisReply, ask('Write docs/a.md'));
    expect(reply.commands[0]?.command).toContain('docs/a.md');
    expect(calls.map((c) => [c.outcome, c.status, c.refused])).toEqual([
      ['refused', 400, 'streaming'],
      ['ok', 200, undefined],
    ]);
    expect(learned.map((l) => [l.setting, l.value])).toEqual([['streaming', 'off']]);
    const next = clientFor(server.baseUrl, {}, learned);
    await next.client.structured(scope, 'plan_analysis', analysisReply, ask('Write docs/b.md'));
    expect(next.calls.map((c) => c.outcome)).toEqual(['ok']);
    expect(server.requests.map((r) => r.body.stream ?? false)).toEqual([true, false, false]);
  });

  it('a plain request that takes longer than llm.timeoutMs times out naming it', async () => {
    const server = await serve({ responder: planner, refuseStream, latencyMs: 2000 });
    const { client, calls } = clientFor(server.baseUrl, { timeoutMs: 200, maxRetries: 0 }, [
      { endpoint: server.baseUrl, model: 'tiny', setting: 'streaming', value: 'off', reason: 'refused' },
    ]);
    const error = await client.structured(scope, 'plan_analysis', analysisReply, ask('x')).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/timed out: no answer within llm\.timeoutMs = 200 ms \(a plain request/);
    expect(calls.map((c) => c.outcome)).toEqual(['timeout']);
  });
});
