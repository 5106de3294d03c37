import { MAX_TOKENS_PARAMS, STRUCTURED_OUTPUT_MODES } from '../config.ts';
import type { CapabilitySettingSchema } from '../events/agent-events.ts';
import type { Learned } from '../projections/llm-capabilities.ts';
import type * as z from 'zod';

/**
 * What an endpoint and model accept, learned from the provider's own refusals (HTTP 400/422 with
 * `param`, `code` and a message) and kept per endpoint and model. Pure: the client asks
 * `degradation` what a refusal means and `capabilitiesFor` what to send.
 */

export type StructuredOutputMode = (typeof STRUCTURED_OUTPUT_MODES)[number];
export type MaxTokensParam = (typeof MAX_TOKENS_PARAMS)[number];

export type CapabilitySetting = z.infer<typeof CapabilitySettingSchema>;
export type { Learned };

export type Capabilities = {
  structuredOutput: StructuredOutputMode;
  /** Whether the request carries a temperature (reasoning models accept only their default). */
  temperature: 'send' | 'omit';
  maxTokensParam: MaxTokensParam;
  /** Tokens of prompt and reply one request may hold, once the endpoint said (its refusal or its metadata). */
  contextTokens?: number;
  /** Calls in flight the endpoint last took without overload. */
  concurrency?: number;
  /** Replies read as they are generated (a slow server is waited for while it makes progress), or whole. */
  streaming: 'on' | 'off';
};

export const DEFAULT_CAPABILITIES: Capabilities = {
  structuredOutput: 'json_schema',
  temperature: 'send',
  maxTokensParam: 'max_tokens',
  streaming: 'on',
};

/** The config's pins: a pinned setting is never changed by what an endpoint refuses. */
export type CapabilityPins = {
  structuredOutput?: StructuredOutputMode | undefined;
  /** A number is sent as it is; null: never sent. */
  temperature?: number | null | undefined;
  maxTokensParam?: MaxTokensParam | undefined;
};

/** What an endpoint and model are known to accept: the default, then what was learned, then the pins. */
export function capabilitiesFor(
  learned: readonly Pick<Learned, 'setting' | 'value'>[],
  pins: CapabilityPins,
): Capabilities {
  const caps: Capabilities = { ...DEFAULT_CAPABILITIES };
  for (const l of learned) apply(caps, l);
  if (pins.structuredOutput) caps.structuredOutput = pins.structuredOutput;
  if (pins.temperature !== undefined) caps.temperature = pins.temperature === null ? 'omit' : 'send';
  if (pins.maxTokensParam) caps.maxTokensParam = pins.maxTokensParam;
  return caps;
}

function apply(caps: Capabilities, l: Pick<Learned, 'setting' | 'value'>): void {
  switch (l.setting) {
    case 'structuredOutput':
      // Learning only ever degrades: a later, better mode learned elsewhere does not undo a refusal seen here.
      if (rank(l.value) > rank(caps.structuredOutput)) caps.structuredOutput = l.value as StructuredOutputMode;
      return;
    case 'temperature':
      if (l.value === 'omit') caps.temperature = 'omit';
      return;
    case 'maxTokensParam':
      if ((MAX_TOKENS_PARAMS as readonly string[]).includes(l.value)) caps.maxTokensParam = l.value as MaxTokensParam;
      return;
    case 'streaming':
      if (l.value === 'off') caps.streaming = 'off';
      return;
    case 'contextTokens':
    case 'concurrency': {
      const n = Number(l.value);
      if (Number.isInteger(n) && n > 0) caps[l.setting] = n;
      return;
    }
    default: {
      const never: never = l.setting;
      return never;
    }
  }
}

const rank = (mode: string) => STRUCTURED_OUTPUT_MODES.indexOf(mode as StructuredOutputMode);

/** A provider's refusal as the SDK reports it. */
export type Refusal = {
  status: number | undefined;
  param?: string | null | undefined;
  code?: string | null | undefined;
  message: string;
  /** The error body's `type` (llama.cpp: `exceed_context_size_error`) and its context fields when it has them. */
  type?: string | undefined;
  nCtx?: number | undefined;
  nPromptTokens?: number | undefined;
};

/**
 * A refusal of a request over the endpoint's context, and the context size when it says it:
 * llama.cpp's `exceed_context_size_error` carries `n_ctx`; OpenAI's `context_length_exceeded` and
 * vLLM's 400 say "maximum context length is N tokens".
 */
export function contextRefusal(refusal: Refusal): { contextTokens?: number } | undefined {
  if (refusal.status !== 400 && refusal.status !== 413) return undefined;
  if (refusal.type === 'exceed_context_size_error') return refusal.nCtx ? { contextTokens: refusal.nCtx } : {};
  const said = /maximum context length is (\d+) tokens/i.exec(refusal.message);
  if (refusal.code === 'context_length_exceeded' || said) return said ? { contextTokens: Number(said[1]) } : {};
  return undefined;
}

/**
 * What a refusal says to change, if it is one this client can work around and the setting is
 * not pinned. A refusal that names temperature or the max-tokens parameter changes that; any
 * other 400 or 422 is taken as a refusal of the output mode, whatever its text says (llama.cpp
 * answers a json_schema it cannot honour with "Failed to initialize samplers"), so the next mode
 * is tried: the caller keeps what it learned only once that mode worked. A bad key, a missing
 * model or a prompt over the context are other statuses, or classified before this. A refusal
 * that names streaming, or one that no mode change can answer, asks for replies whole instead.
 */
export function degradation(refusal: Refusal, caps: Capabilities, pins: CapabilityPins): Learned | undefined {
  if ((refusal.status !== 400 && refusal.status !== 422) || contextRefusal(refusal)) return undefined;
  const param = refusal.param ?? '';
  const text = `${param} ${refusal.code ?? ''} ${refusal.message}`;
  const reason = `${refusal.status}${refusal.code ? ` ${refusal.code}` : ''}: ${refusal.message.slice(0, 200)}`;
  if (/max_completion_tokens/.test(text) && /max_tokens/.test(text.replace(/max_completion_tokens/g, ''))) {
    const value: MaxTokensParam = caps.maxTokensParam === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
    // "Use max_completion_tokens instead" and its reverse ("Unrecognized argument: max_completion_tokens").
    if (!pins.maxTokensParam) return { setting: 'maxTokensParam', value, reason };
    return undefined;
  }
  if (param === 'temperature' || /\btemperature\b/i.test(refusal.message)) {
    if (caps.temperature === 'send' && pins.temperature === undefined)
      return { setting: 'temperature', value: 'omit', reason };
    return undefined;
  }
  // A refusal that names streaming (or its stream_options), or one left when no mode is left to try.
  const stream = param.startsWith('stream') || /\bstream(_options)?\b/i.test(refusal.message);
  const next = STRUCTURED_OUTPUT_MODES[rank(caps.structuredOutput) + 1];
  if (caps.streaming === 'on' && (stream || !next || pins.structuredOutput))
    return { setting: 'streaming', value: 'off', reason };
  if (next && !pins.structuredOutput) return { setting: 'structuredOutput', value: next, reason };
  return undefined;
}

/** The `llm` settings that pin what was learned, for `llm check` to print. */
export function pinsFor(caps: Capabilities): {
  structuredOutput: StructuredOutputMode;
  temperature: 0 | null;
  maxTokensParam: MaxTokensParam;
} {
  return {
    structuredOutput: caps.structuredOutput,
    temperature: caps.temperature === 'omit' ? null : 0,
    maxTokensParam: caps.maxTokensParam,
  };
}
