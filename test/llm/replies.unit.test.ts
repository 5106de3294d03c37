import { describe, expect, it } from 'vitest';
import { capabilitiesFor, DEFAULT_CAPABILITIES, degradation } from '../../src/llm/capabilities.ts';
import { jsonCandidates, withoutReasoning } from '../../src/llm/reply-text.ts';
import { parseBudget } from '../../src/llm/cost.ts';
import { budgetSpent, costUsd } from '../../src/projections/llm-usage.ts';

const firstJson = (content: string) => {
  for (const c of jsonCandidates(content)) {
    try {
      return JSON.parse(c) as unknown;
    } catch {
      // next
    }
  }
  return undefined;
};

describe('reply text', () => {
  it('finds the answer bare, fenced, after a reasoning block, or in prose', () => {
    expect(firstJson('{"a":1}')).toEqual({ a: 1 });
    expect(firstJson('```json\n{"a":1}\n```')).toEqual({ a: 1 });
    expect(firstJson('<think>maybe {"a":0}?</think>\n{"a":1}')).toEqual({ a: 1 });
    expect(firstJson('<think>\n{"a":0}\n</think>\n\nHere it is:\n```json\n{"a":1}\n```\nDone.')).toEqual({ a: 1 });
    expect(firstJson('<reasoning>no</reasoning>The plan is {"a": {"b": "}"}} as asked.')).toEqual({ a: { b: '}' } });
    expect(firstJson('```\n{"a":1}\n```')).toEqual({ a: 1 });
  });

  it('drops reasoning however the server left its tags', () => {
    expect(withoutReasoning('<think>x</think>\n{"a":1}')).toBe('{"a":1}');
    expect(withoutReasoning('thinking without an opening tag</think>{"a":1}')).toBe('{"a":1}');
    expect(withoutReasoning('{"a":1}<think>cut off')).toBe('{"a":1}');
    expect(withoutReasoning('<THINKING>x</THINKING>ok')).toBe('ok');
  });

  it('offers the last fence first: an example before the answer is not the answer', () => {
    expect(jsonCandidates('For example:\n```json\n{"x":0}\n```\nAnswer:\n```json\n{"x":1}\n```').slice(1, 3)).toEqual([
      '{"x":1}',
      '{"x":0}',
    ]);
  });
});

const refusal = (message: string, param: string | null = null, code: string | null = null) => ({
  status: 400,
  message,
  param,
  code,
});

describe('capability negotiation', () => {
  it("reads OpenAI reasoning models' refusals: temperature dropped, max_completion_tokens used", () => {
    expect(
      degradation(
        refusal(
          "Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is supported.",
          'temperature',
          'unsupported_value',
        ),
        DEFAULT_CAPABILITIES,
        {},
      ),
    ).toMatchObject({ setting: 'temperature', value: 'omit' });
    expect(
      degradation(
        refusal(
          "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
          'max_tokens',
          'unsupported_parameter',
        ),
        DEFAULT_CAPABILITIES,
        {},
      ),
    ).toMatchObject({ setting: 'maxTokensParam', value: 'max_completion_tokens' });
  });

  it('degrades structured output one step per refusal: json_schema, json_object, text, then replies asked whole, then nothing', () => {
    const r = refusal('This response_format type is unavailable now');
    expect(degradation(r, DEFAULT_CAPABILITIES, {})).toMatchObject({
      setting: 'structuredOutput',
      value: 'json_object',
    });
    expect(degradation(r, { ...DEFAULT_CAPABILITIES, structuredOutput: 'json_object' }, {})).toMatchObject({
      value: 'text',
    });
    expect(degradation(r, { ...DEFAULT_CAPABILITIES, structuredOutput: 'text' }, {})).toMatchObject({
      setting: 'streaming',
      value: 'off',
    });
    expect(degradation(r, { ...DEFAULT_CAPABILITIES, structuredOutput: 'text', streaming: 'off' }, {})).toBeUndefined();
    // A refusal that names streaming turns it off first, whatever the mode.
    const o1 = refusal("Unsupported value: 'stream' does not support true with this model.", 'stream');
    expect(degradation(o1, DEFAULT_CAPABILITIES, {})).toMatchObject({ setting: 'streaming', value: 'off' });
    // LM Studio's body is a bare string.
    expect(
      degradation(
        refusal(`"'response_format.type' must be 'json_schema' or 'text'"`),
        { ...DEFAULT_CAPABILITIES, structuredOutput: 'json_object' },
        {},
      ),
    ).toMatchObject({ value: 'text' });
  });

  it('never overrides a pin, and leaves other errors alone', () => {
    expect(
      degradation(refusal('temperature unsupported', 'temperature'), DEFAULT_CAPABILITIES, { temperature: 0.2 }),
    ).toBeUndefined();
    // A pinned mode refused: the refusal may be of streaming, so a plain request is tried, then nothing.
    const pinned = { structuredOutput: 'json_schema' } as const;
    const unavailable = refusal('This response_format type is unavailable now');
    expect(degradation(unavailable, DEFAULT_CAPABILITIES, pinned)).toMatchObject({ setting: 'streaming' });
    expect(degradation(unavailable, { ...DEFAULT_CAPABILITIES, streaming: 'off' }, pinned)).toBeUndefined();
    expect(
      degradation({ status: 401, message: 'Incorrect API key provided' }, DEFAULT_CAPABILITIES, {}),
    ).toBeUndefined();
    expect(
      degradation(refusal("This model's maximum context length is 8192 tokens"), DEFAULT_CAPABILITIES, {}),
    ).toBeUndefined();
  });

  it('what was learned only degrades, and pins win', () => {
    expect(
      capabilitiesFor(
        [
          { setting: 'structuredOutput', value: 'text' },
          { setting: 'structuredOutput', value: 'json_object' },
        ],
        {},
      ).structuredOutput,
    ).toBe('text');
    expect(capabilitiesFor([{ setting: 'temperature', value: 'omit' }], { temperature: 0 }).temperature).toBe('send');
    expect(capabilitiesFor([], { temperature: null }).temperature).toBe('omit');
  });
});

describe('cost and budget', () => {
  const u = { calls: 2, promptTokens: 1_000_000, cachedTokens: 400_000, completionTokens: 100_000 };
  it('prices cached prompt tokens apart when the provider has a price for them', () => {
    expect(costUsd(u, { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 })).toBeCloseTo(1.2 + 0.2 + 0.8);
    expect(costUsd(u, { inputPerMTok: 2, outputPerMTok: 8 })).toBeCloseTo(2 + 0.8);
  });
  it('reads --budget as tokens or dollars, and refuses anything else naming the forms', () => {
    expect(parseBudget('50000')).toEqual({ tokens: 50_000 });
    expect(parseBudget('50k')).toEqual({ tokens: 50_000 });
    expect(parseBudget('1.5m')).toEqual({ tokens: 1_500_000 });
    expect(parseBudget('$2')).toEqual({ usd: 2 });
    expect(parseBudget('0.5usd')).toEqual({ usd: 0.5 });
    expect(() => parseBudget('lots')).toThrow(/tokens \(50000, 50k, 1.5m\) or US dollars/);
  });
  it('says the budget is spent once tokens or dollars reach it', () => {
    expect(budgetSpent(u, { tokens: 2_000_000 }, undefined)).toBeUndefined();
    expect(budgetSpent(u, { tokens: 1_100_000 }, undefined)).toMatch(
      /budget of 1,100,000 tokens is spent \(1,100,000 used\)/,
    );
    expect(budgetSpent(u, { usd: 1 }, { inputPerMTok: 2, outputPerMTok: 8 })).toMatch(
      /budget of \$1.00 is spent \(\$2.80 used\)/,
    );
  });
});
