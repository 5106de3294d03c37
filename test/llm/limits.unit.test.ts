import { describe, expect, it } from 'vitest';
import { Limiter } from '../../src/llm/limiter.ts';
import { callKind, largerCap, outputCap, repairMessages } from '../../src/llm/output-caps.ts';
import { contextRefusal } from '../../src/llm/capabilities.ts';

describe('calls in flight', () => {
  it('halves once for a burst of overload answers, then grows by about one per limit of successes', async () => {
    const limiter = new Limiter(8, 8);
    const slots = await Promise.all(Array.from({ length: 8 }, () => limiter.acquire()));
    // llama.cpp fails every busy slot at once: one decrease, not eight.
    for (const s of slots) limiter.release(s, 'overloaded');
    expect(limiter.current).toBe(4);
    for (let i = 0; i < 5; i++) limiter.release(await limiter.acquire(), 'ok');
    expect(limiter.current).toBe(5);
    const later = await limiter.acquire();
    limiter.release(later, 'overloaded');
    expect(limiter.current).toBe(2);
  });

  it('keeps waiting calls in order and never lets more than the limit through', async () => {
    const limiter = new Limiter(2, 2);
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    const order: string[] = [];
    const c = limiter.acquire().then((s) => (order.push('c'), s));
    const d = limiter.acquire().then((s) => (order.push('d'), s));
    limiter.release(a, 'ok');
    const sc = await c;
    expect(order).toEqual(['c']);
    limiter.release(b, 'ok');
    limiter.release(sc, 'ok');
    limiter.release(await d, 'ok');
    expect(order).toEqual(['c', 'd']);
  });
});

describe('output caps', () => {
  it('has a cap per kind of call, one setting for all, and fits the context the endpoint said', () => {
    expect(callKind('plan_analysis')).toBe('plan');
    expect(callKind('plan_criteria:repair')).toBe('criteria');
    expect(callKind('recovery')).toBe('recovery');
    expect(callKind('llm_check')).toBe('check');
    const messages = [{ role: 'user' as const, content: 'x'.repeat(3000) }];
    expect(outputCap('plan', undefined, undefined, messages)).toBe(4096);
    expect(outputCap('plan', 500, undefined, messages)).toBe(500);
    expect(outputCap('plan', undefined, 2048, messages)).toBe(2048 - 1003);
    expect(largerCap(1000, 500, 2048)).toBe(1548);
    expect(largerCap(1000, 1048, 2048)).toBeUndefined();
    expect(largerCap(1000, undefined, undefined)).toBe(2000);
  });

  it('cuts the bad reply a repair request carries to what the context leaves, or leaves it out', () => {
    const messages = [{ role: 'user' as const, content: 'plan it' }];
    const reply = { content: 'y'.repeat(4000), promptTokens: 100, completionTokens: 1000 };
    const whole = repairMessages(messages, reply, 'not valid JSON', 500, undefined);
    expect(whole[1]!.content).toHaveLength(4000);
    const cut = repairMessages(messages, reply, 'not valid JSON', 500, 1200);
    expect(cut[1]!.content.length).toBeLessThan(4000);
    expect(100 + cut[1]!.content.length / 4 + 500).toBeLessThanOrEqual(1200);
    const none = repairMessages(messages, reply, 'not valid JSON', 500, 650);
    expect(none.map((m) => m.role)).toEqual(['user', 'user']);
    expect(none[1]!.content).toContain('Your previous reply was not valid: not valid JSON');
  });

  it('knows a refusal over the context by its shape: llama.cpp, OpenAI, vLLM', () => {
    expect(
      contextRefusal({
        status: 400,
        message: 'request (4479 tokens) exceeds',
        type: 'exceed_context_size_error',
        nCtx: 4096,
      }),
    ).toEqual({ contextTokens: 4096 });
    expect(
      contextRefusal({
        status: 400,
        code: 'context_length_exceeded',
        message: "This model's maximum context length is 128000 tokens.",
      }),
    ).toEqual({ contextTokens: 128000 });
    expect(contextRefusal({ status: 400, message: 'Failed to initialize samplers: std::exception' })).toBeUndefined();
  });
});
