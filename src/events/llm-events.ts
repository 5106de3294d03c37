import * as z from 'zod';
import { defineEvent } from './event-envelope.ts';

/** What the LLM client records: each HTTP attempt, and what an endpoint was found to refuse. */

/** How one HTTP attempt to the LLM ended (src/llm/failures.ts). */
export const LlmOutcomeSchema = z.enum(['ok', 'truncated', 'refused', 'overloaded', 'timeout', 'failed', 'cancelled']);
export const LlmCalled = defineEvent(
  'LlmCalled',
  'one HTTP attempt to the LLM: purpose, model, attempt, status, outcome, duration, tokens, error',
  z.object({
    purpose: z.string(),
    model: z.string(),
    durationMs: z.number().nonnegative(),
    ok: z.boolean(),
    promptTokens: z.number().int().nonnegative().optional(),
    completionTokens: z.number().int().nonnegative().optional(),
    /** Prompt tokens served from the endpoint's prompt cache (OpenAI's prompt_tokens_details). */
    cachedTokens: z.number().int().nonnegative().optional(),
    error: z.string().optional(),
    /** The refusal that taught the client something (then retried at once, degraded), when it was one. */
    refused: z.string().optional(),
    /** One event per HTTP attempt (the client retries itself): which attempt, what came back, and how it ended. */
    attempt: z.number().int().positive().optional(),
    status: z.number().int().optional(),
    outcome: LlmOutcomeSchema.optional(),
    /** The output cap the request carried. */
    maxTokens: z.number().int().positive().optional(),
  }),
);
/** What the LLM client negotiates per endpoint and model (src/llm/capabilities.ts). */
export const CapabilitySettingSchema = z.enum([
  'structuredOutput',
  'temperature',
  'maxTokensParam',
  /** Tokens of prompt and reply one request may hold (the endpoint's refusal or its metadata said). */
  'contextTokens',
  /** Calls in flight the endpoint took without overload (src/llm/limiter.ts). */
  'concurrency',
  /** `off`: the endpoint refused a streamed request, so replies are asked for whole (src/llm/stream.ts). */
  'streaming',
]);
/**
 * What an endpoint and model were found to refuse, and what the client uses instead from then on
 * (folded by the llm-capabilities projection, so no later call or run is refused for it again).
 */
export const LlmCapabilityLearned = defineEvent(
  'LlmCapabilityLearned',
  'what an endpoint and model refuse, and the setting used instead from then on',
  z.object({
    endpoint: z.string(),
    model: z.string(),
    setting: CapabilitySettingSchema,
    value: z.string(),
    reason: z.string(),
  }),
);
