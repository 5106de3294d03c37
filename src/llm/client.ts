import type OpenAI from 'openai';
import type { zodResponseFormat as ZodResponseFormat } from 'openai/helpers/zod';
import type { z } from 'zod';
import type { Config } from '../config.ts';
import { LlmError } from '../errors.ts';
import { DEFAULT_LLM_BASE_URL } from './probe.ts';

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
};

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/**
 * The one door to an LLM: the openai SDK against any OpenAI-compatible base URL, with the
 * model, timeout and retries from config. Replies are structured (JSON schema from zod) and
 * validated here; a reply that does not validate gets one repair attempt, then an LlmError.
 * Every call, good or bad, is reported to `record` (the host turns it into an LlmCalled event).
 */
export class LlmClient {
  /** The SDK is loaded on the first call: a run of explicit commands never pays its start-up. */
  private sdk?: Promise<{ openai: OpenAI; zodResponseFormat: typeof ZodResponseFormat }>;
  private spent = new Map<string, number>();

  constructor(
    private readonly config: Config['llm'],
    private readonly record: (runId: string, call: LlmCallRecord) => void,
    /** Applied to every prompt: no secret leaves this process in a request. */
    private readonly redact: (text: string) => string = (t) => t,
  ) {}

  private load() {
    this.sdk ??= Promise.all([import('openai'), import('openai/helpers/zod')]).then(([{ default: OpenAI }, { zodResponseFormat }]) => ({
      openai: new OpenAI({
        apiKey: this.config.apiKey ?? 'not-needed-for-local-servers',
        ...(this.config.baseUrl ? { baseURL: this.config.baseUrl } : {}),
        timeout: this.config.timeoutMs,
        maxRetries: this.config.maxRetries,
      }),
      zodResponseFormat,
    }));
    return this.sdk;
  }

  /** Tokens this process has spent on a run so far. */
  tokensSpent(runId: string): number {
    return this.spent.get(runId) ?? 0;
  }

  async structured<S extends z.ZodType>(
    runId: string,
    purpose: string,
    schema: S,
    messages: ChatMessage[],
  ): Promise<z.infer<S>> {
    if (this.tokensSpent(runId) >= this.config.tokenBudget) {
      throw new LlmError(`the run's LLM token budget (${this.config.tokenBudget}) is spent`, 'budget');
    }
    const first = await this.call(runId, purpose, schema, messages);
    const parsed = parseReply(schema, first);
    if (parsed.ok) return parsed.value;
    const repair: ChatMessage[] = [
      ...messages,
      { role: 'assistant', content: first },
      { role: 'user', content: `That reply is not valid: ${parsed.error}. Reply again with only a JSON object that matches the schema.` },
    ];
    const second = await this.call(runId, `${purpose}:repair`, schema, repair);
    const repaired = parseReply(schema, second);
    if (repaired.ok) return repaired.value;
    throw new LlmError(`the LLM's ${purpose} reply is not valid after one repair attempt: ${repaired.error}`, 'invalid-reply');
  }

  private async call(runId: string, purpose: string, schema: z.ZodType, messages: ChatMessage[]): Promise<string> {
    const { openai, zodResponseFormat } = await this.load();
    const started = performance.now();
    try {
      const completion = await openai.chat.completions.create({
        model: this.config.model,
        messages: messages.map((m) => ({ ...m, content: this.redact(m.content) })),
        response_format: zodResponseFormat(schema, purpose.replace(/[^a-zA-Z0-9_-]/g, '_')),
        temperature: 0,
      });
      const usage = completion.usage;
      this.spent.set(runId, this.tokensSpent(runId) + (usage?.total_tokens ?? 0));
      this.record(runId, {
        purpose,
        model: this.config.model,
        durationMs: performance.now() - started,
        ok: true,
        ...(usage ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens } : {}),
        ...(usage?.prompt_tokens_details?.cached_tokens !== undefined ? { cachedTokens: usage.prompt_tokens_details.cached_tokens } : {}),
      });
      return completion.choices[0]?.message.content ?? '';
    } catch (cause) {
      const message = (cause as Error).message;
      this.record(runId, { purpose, model: this.config.model, durationMs: performance.now() - started, ok: false, error: message });
      throw new LlmError(`LLM call for ${purpose} to ${this.config.baseUrl ?? DEFAULT_LLM_BASE_URL} failed: ${message}`, 'transport', { cause });
    }
  }
}

function parseReply<S extends z.ZodType>(schema: S, content: string): { ok: true; value: z.infer<S> } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(stripFence(content));
  } catch {
    return { ok: false, error: `not valid JSON (${content.length} characters${content.length ? `, starting ${JSON.stringify(content.slice(0, 40))}` : ''})` };
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  return { ok: false, error: `JSON of the wrong shape at ${issue?.path.join('.') || '(root)'}: ${issue?.message}` };
}

/** Some servers wrap JSON in a markdown fence even when asked for JSON. */
function stripFence(content: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n```\s*$/.exec(content);
  return m ? m[1]! : content;
}
