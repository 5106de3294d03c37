import type OpenAI from 'openai';
import type { zodResponseFormat as ZodResponseFormat } from 'openai/helpers/zod';
import type * as z from 'zod';
import type { Config } from '../config.ts';
import type { LlmOutcomeSchema } from '../events/agent-events.ts';
import type { Capabilities, Learned } from './capabilities.ts';
import type { Limiter } from './limiter.ts';

/** The types the client and its parts share, apart from the client, so that none imports it back. */

export type LlmCallRecord = {
  purpose: string;
  model: string;
  durationMs: number;
  ok: boolean;
  promptTokens?: number;
  completionTokens?: number;
  /** Prompt tokens the endpoint served from its prompt cache, when it says. */
  cachedTokens?: number;
  error?: string;
  /** The setting a refusal taught (the call was then retried at once in the degraded form). */
  refused?: string;
  attempt: number;
  status?: number;
  outcome: z.infer<typeof LlmOutcomeSchema>;
  maxTokens?: number;
};

/** Whom a call is for: its run, and its task when it has one (tokens are shown per task). */
export type LlmScope = { runId: string; taskId?: string | undefined };

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export type Sdk = {
  openai: OpenAI;
  zodResponseFormat: typeof ZodResponseFormat;
  errors: typeof OpenAI;
};

/** What one call's attempts need of the client: the SDK, what the endpoint accepts, its limiter, the records. */
export type AttemptClient = {
  readonly config: Config['llm'];
  readonly endpoint: string;
  readonly redact: (text: string) => string;
  load(): Promise<Sdk>;
  capabilities(extra?: readonly Learned[]): Capabilities;
  limiter(): Limiter;
  learn(scope: LlmScope, fact: Learned): void;
  record(scope: LlmScope, call: LlmCallRecord): void;
};
