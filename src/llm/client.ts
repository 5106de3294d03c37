import type OpenAI from 'openai';
import type { zodResponseFormat as ZodResponseFormat } from 'openai/helpers/zod';
import * as z from 'zod';
import type { Config } from '../config.ts';
import { LlmError } from '../errors.ts';
import { capabilityKey } from '../projections/llm-capabilities.ts';
import {
  capabilitiesFor,
  DEFAULT_CAPABILITIES,
  degradation,
  type Capabilities,
  type CapabilityPins,
  type Learned,
  type Refusal,
} from './capabilities.ts';
import { DEFAULT_LLM_BASE_URL } from './probe.ts';
import { jsonCandidates } from './reply-text.ts';

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
};

/** Whom a call is for: its run, and its task when it has one (tokens are shown per task). */
export type LlmScope = { runId: string; taskId?: string | undefined };

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/** A capability learned here, for the host to record (an LlmCapabilityLearned event). */
export type LearnedFact = Learned & { endpoint: string; model: string };

export type LlmHooks = {
  /** Every call, good or bad: the host turns it into an LlmCalled event. */
  record: (scope: LlmScope, call: LlmCallRecord) => void;
  /** What this endpoint and model were found to refuse before (the llm-capabilities projection). */
  known?: (key: string) => readonly Learned[];
  /** A refusal taught something: the host records it, so the next process and run start from it. */
  learned?: (scope: LlmScope, fact: LearnedFact) => void;
};

/** Refusals worked around in one call at most: one per setting. */
const MAX_DEGRADATIONS = 3;

/**
 * The one door to an LLM: the openai SDK against any OpenAI-compatible base URL, with the
 * model, timeout and retries from config. It asks for structured replies in the best form the
 * endpoint accepts (a JSON Schema from zod, else JSON mode with the schema in the prompt, else
 * plain text with the schema in the prompt), learning that form from the provider's refusals, and
 * validates what comes back; a reply that does not validate gets one repair attempt, then an
 * LlmError.
 */
export class LlmClient {
  /** The SDK is loaded on the first call: a run of explicit commands never pays its start-up. */
  private sdk?: Promise<{
    openai: OpenAI;
    zodResponseFormat: typeof ZodResponseFormat;
    APIError: typeof OpenAI.APIError;
  }>;
  private spent = new Map<string, number>();
  /** Learned in this process, so a call made before the log has it back does not repeat the refusal. */
  private learnedHere: Learned[] = [];
  readonly endpoint: string;

  constructor(
    private readonly config: Config['llm'],
    private readonly hooks: LlmHooks,
    /** Applied to every prompt: no secret leaves this process in a request. */
    private readonly redact: (text: string) => string = (t) => t,
  ) {
    this.endpoint = config.baseUrl ?? DEFAULT_LLM_BASE_URL;
  }

  private load() {
    this.sdk ??= Promise.all([import('openai'), import('openai/helpers/zod')]).then(
      ([{ default: OpenAI }, { zodResponseFormat }]) => ({
        openai: new OpenAI({
          apiKey: this.config.apiKey ?? 'not-needed-for-local-servers',
          ...(this.config.baseUrl ? { baseURL: this.config.baseUrl } : {}),
          timeout: this.config.timeoutMs,
          maxRetries: this.config.maxRetries,
        }),
        zodResponseFormat,
        APIError: OpenAI.APIError,
      }),
    );
    return this.sdk;
  }

  /** What this endpoint and model are known to accept now: learned (in the log, then here) and pinned. */
  capabilities(): Capabilities {
    const known = this.hooks.known?.(capabilityKey(this.endpoint, this.config.model)) ?? [];
    return capabilitiesFor([...known, ...this.learnedHere], pinsOf(this.config));
  }

  /** What this process learned so far (for `llm check`). */
  learnedInThisProcess(): readonly Learned[] {
    return this.learnedHere;
  }

  /** Tokens this process has spent on a run so far. */
  tokensSpent(runId: string): number {
    return this.spent.get(runId) ?? 0;
  }

  async structured<S extends z.ZodType>(
    scope: LlmScope,
    purpose: string,
    schema: S,
    messages: ChatMessage[],
  ): Promise<z.infer<S>> {
    if (this.tokensSpent(scope.runId) >= this.config.tokenBudget) {
      throw new LlmError(
        `the run's LLM token budget in this process (llm.tokenBudget, ${this.config.tokenBudget}) is spent`,
        'budget',
      );
    }
    const first = await this.call(scope, purpose, schema, messages);
    const parsed = parseReply(schema, first);
    if (parsed.ok) return parsed.value;
    const repair: ChatMessage[] = [
      ...messages,
      { role: 'assistant', content: first },
      {
        role: 'user',
        content: `That reply is not valid: ${parsed.error}. Reply again with only a JSON object that matches the schema.`,
      },
    ];
    const second = await this.call(scope, `${purpose}:repair`, schema, repair);
    const repaired = parseReply(schema, second);
    if (repaired.ok) return repaired.value;
    throw new LlmError(
      `the LLM's ${purpose} reply is not valid after one repair attempt: ${repaired.error}`,
      'invalid-reply',
    );
  }

  private async call(scope: LlmScope, purpose: string, schema: z.ZodType, messages: ChatMessage[]): Promise<string> {
    const sdk = await this.load();
    const name = purpose.replace(/[^a-zA-Z0-9_-]/g, '_');
    for (let degraded = 0; ; degraded++) {
      const caps = this.capabilities();
      const started = performance.now();
      try {
        const completion = await sdk.openai.chat.completions.create(
          this.request(sdk.zodResponseFormat, caps, name, schema, messages),
        );
        const usage = completion.usage;
        this.spent.set(scope.runId, this.tokensSpent(scope.runId) + (usage?.total_tokens ?? 0));
        this.hooks.record(scope, {
          purpose,
          model: this.config.model,
          durationMs: performance.now() - started,
          ok: true,
          ...(usage ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens } : {}),
          ...(usage?.prompt_tokens_details?.cached_tokens != null
            ? { cachedTokens: usage.prompt_tokens_details.cached_tokens }
            : {}),
        });
        // Only the answer: a `reasoning_content` beside it is the model's thinking, never parsed.
        return completion.choices[0]?.message.content ?? '';
      } catch (cause) {
        const message = (cause as Error).message;
        const refusal =
          cause instanceof sdk.APIError ? asRefusal(cause as InstanceType<typeof OpenAI.APIError>) : undefined;
        const learned =
          refusal && degraded < MAX_DEGRADATIONS ? degradation(refusal, caps, pinsOf(this.config)) : undefined;
        this.hooks.record(scope, {
          purpose,
          model: this.config.model,
          durationMs: performance.now() - started,
          ok: false,
          error: message,
          ...(learned ? { refused: learned.setting } : {}),
        });
        if (!learned) {
          throw new LlmError(
            `LLM call for ${purpose} to ${this.endpoint} (model ${this.config.model}) failed: ${message}${pinHint(refusal, this.config)}`,
            'transport',
            {
              cause,
            },
          );
        }
        this.learnedHere.push(learned);
        this.hooks.learned?.(scope, { ...learned, endpoint: this.endpoint, model: this.config.model });
      }
    }
  }

  private request(
    zodResponseFormat: typeof ZodResponseFormat,
    caps: Capabilities,
    name: string,
    schema: z.ZodType,
    messages: ChatMessage[],
  ) {
    const redacted = messages.map((m) => ({ ...m, content: this.redact(m.content) }));
    if (caps.structuredOutput !== 'json_schema') {
      // JSON mode needs the word "JSON" in the prompt (DeepSeek refuses it otherwise), and neither
      // it nor plain text knows the schema unless the prompt carries it. Last, so prefixes stay cacheable.
      const last = redacted.length - 1;
      redacted[last] = {
        ...redacted[last]!,
        content: `${redacted[last]!.content}\n\n${schemaInstruction(name, schema)}`,
      };
    }
    const temperature = this.config.temperature ?? 0;
    return {
      model: this.config.model,
      messages: redacted,
      ...(caps.structuredOutput === 'json_schema'
        ? { response_format: zodResponseFormat(schema, name) }
        : caps.structuredOutput === 'json_object'
          ? { response_format: { type: 'json_object' as const } }
          : {}),
      ...(caps.temperature === 'send' && temperature !== null ? { temperature } : {}),
      ...(this.config.maxOutputTokens ? { [caps.maxTokensParam]: this.config.maxOutputTokens } : {}),
    };
  }
}

/** The schema in words a model reads; the stand-ins in the tests read the name back. */
export function schemaInstruction(name: string, schema: z.ZodType): string {
  const { $schema: _, ...json } = z.toJSONSchema(schema) as Record<string, unknown>;
  return `Reply with only one JSON object, no prose, that matches this JSON Schema (name: ${name}):\n${JSON.stringify(json)}`;
}

const pinsOf = (config: Config['llm']): CapabilityPins => ({
  structuredOutput: config.structuredOutput,
  temperature: config.temperature,
  maxTokensParam: config.maxTokensParam,
});

function asRefusal(error: {
  status: number | undefined;
  param?: string | null | undefined;
  code?: string | null | undefined;
  message: string;
  error?: unknown;
}): Refusal {
  const body = error.error as { message?: unknown } | undefined;
  return {
    status: error.status,
    param: error.param,
    code: error.code,
    message: typeof body?.message === 'string' ? body.message : error.message,
  };
}

/** A refusal of a pinned setting says which pin to change. */
function pinHint(refusal: Refusal | undefined, config: Config['llm']): string {
  if (!refusal) return '';
  const unpinned = degradation(refusal, DEFAULT_CAPABILITIES, {});
  if (!unpinned) return '';
  const pinned = pinsOf(config)[unpinned.setting];
  return pinned !== undefined
    ? ` (llm.${unpinned.setting} is pinned to ${JSON.stringify(pinned)} in the configuration; remove it to let the client adapt)`
    : '';
}

function parseReply<S extends z.ZodType>(
  schema: S,
  content: string,
): { ok: true; value: z.infer<S> } | { ok: false; error: string } {
  let shapeError: string | undefined;
  for (const candidate of jsonCandidates(content)) {
    let raw: unknown;
    try {
      raw = JSON.parse(candidate);
    } catch {
      continue;
    }
    const result = schema.safeParse(raw);
    if (result.success) return { ok: true, value: result.data };
    const issue = result.error.issues[0];
    shapeError ??= `JSON of the wrong shape at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
  }
  return {
    ok: false,
    error:
      shapeError ??
      `not valid JSON (${content.length} characters${content.length ? `, starting ${JSON.stringify(content.slice(0, 40))}` : ''})`,
  };
}
