export type { ChatMessage, LlmCallRecord, LlmScope, Sdk } from './client-types.ts';
import type * as z from 'zod';
import type { Config } from '../config.ts';
import { LlmError } from '../errors.ts';
import { capabilityKey } from '../projections/llm-capabilities.ts';
import { capabilitiesFor, type Capabilities, type Learned } from './capabilities.ts';
import { callAttempts, type Completion } from './attempts.ts';
import type { ChatMessage, LlmCallRecord, LlmScope, Sdk } from './client-types.ts';
import { limiterFor, type Limiter } from './limiter.ts';
import { callKind, DEFAULT_OUTPUT_CAPS, largerCap, outputCap, repairMessages } from './output-caps.ts';
import { DEFAULT_LLM_BASE_URL } from './probe.ts';
import { parseReply, pinsOf } from './request.ts';

/** A capability learned here, for the host to record (an LlmCapabilityLearned event). */
export type LearnedFact = Learned & { endpoint: string; model: string };

export type LlmHooks = {
  /** Every HTTP attempt, good or bad: the host turns it into an LlmCalled event. */
  record: (scope: LlmScope, call: LlmCallRecord) => void;
  /** What this endpoint and model were found to refuse before (the llm-capabilities projection). */
  known?: (key: string) => readonly Learned[];
  /** A refusal taught something: the host records it, so the next process and run start from it. */
  learned?: (scope: LlmScope, fact: LearnedFact) => void;
};

/**
 * The one door to an LLM: the openai SDK against any OpenAI-compatible base URL. It asks for
 * structured replies in the best form the endpoint was seen to accept, caps every reply, retries
 * overload itself (each HTTP attempt is recorded) within a number of calls in flight adapted to
 * the endpoint, and validates what comes back: a truncated reply is asked again with a larger cap,
 * an invalid one gets one repair request that fits the endpoint's context, then an LlmError.
 */
export class LlmClient {
  /** The SDK is loaded on the first call: a run of explicit commands never pays its start-up. */
  private sdk?: Promise<Sdk>;
  private spent = new Map<string, number>();
  /** Learned in this process, so a call made before the log has it back does not repeat the refusal. */
  private learnedHere: Learned[] = [];
  readonly endpoint: string;

  constructor(
    readonly config: Config['llm'],
    private readonly hooks: LlmHooks,
    /** Applied to every prompt: no secret leaves this process in a request. */
    readonly redact: (text: string) => string = (t) => t,
  ) {
    this.endpoint = config.baseUrl ?? DEFAULT_LLM_BASE_URL;
  }

  load(): Promise<Sdk> {
    this.sdk ??= Promise.all([import('openai'), import('openai/helpers/zod')]).then(
      ([{ default: OpenAI }, { zodResponseFormat }]) => ({
        openai: new OpenAI({
          apiKey: this.config.apiKey ?? 'not-needed-for-local-servers',
          ...(this.config.baseUrl ? { baseURL: this.config.baseUrl } : {}),
          timeout: this.config.timeoutMs,
          // Retried here instead, so that every attempt is an event and overload adapts the calls in flight.
          maxRetries: 0,
        }),
        zodResponseFormat,
        errors: OpenAI,
      }),
    );
    return this.sdk;
  }

  /** What this endpoint and model are known to accept now: learned (in the log, then here) and pinned. */
  capabilities(extra: readonly Learned[] = []): Capabilities {
    const known = this.hooks.known?.(capabilityKey(this.endpoint, this.config.model)) ?? [];
    return capabilitiesFor([...known, ...this.learnedHere, ...extra], pinsOf(this.config));
  }

  /** What this process learned so far (for `llm check`). */
  learnedInThisProcess(): readonly Learned[] {
    return this.learnedHere;
  }

  /** Tokens this process has spent on a run so far. */
  tokensSpent(runId: string): number {
    return this.spent.get(runId) ?? 0;
  }

  /** The calls in flight to this endpoint from this process, adapted to its overload answers. */
  limiter(): Limiter {
    const max = this.config.concurrency;
    return limiterFor(this.endpoint, max, this.capabilities().concurrency ?? max);
  }

  /** Keeps what a call taught: here at once, and in the log through the host. */
  learn(scope: LlmScope, fact: Learned): void {
    this.learnedHere.push(fact);
    this.hooks.learned?.(scope, { ...fact, endpoint: this.endpoint, model: this.config.model });
  }

  record(scope: LlmScope, call: LlmCallRecord): void {
    if (call.outcome === 'ok' || call.outcome === 'truncated')
      this.spent.set(
        scope.runId,
        this.tokensSpent(scope.runId) + (call.promptTokens ?? 0) + (call.completionTokens ?? 0),
      );
    this.hooks.record(scope, call);
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
    const kind = callKind(purpose);
    const cap = () => outputCap(kind, this.config.maxOutputTokens, this.capabilities().contextTokens, messages);
    const first = await this.whole(scope, purpose, schema, messages, cap());
    const parsed = parseReply(schema, first.content);
    if (parsed.ok) return parsed.value;
    const repair = () => {
      const repairCap = cap();
      const context = this.capabilities().contextTokens;
      const asked = repairMessages(messages, first, parsed.error, repairCap, context);
      return this.whole(scope, `${purpose}:repair`, schema, asked, repairCap);
    };
    const contextBefore = this.capabilities().contextTokens;
    // A repair refused as over a context not known before is cut to the context it taught, once.
    const second = await repair().catch((error: unknown) => {
      if (error instanceof LlmError && error.kind === 'context' && this.capabilities().contextTokens !== contextBefore)
        return repair();
      throw error;
    });
    const repaired = parseReply(schema, second.content);
    if (repaired.ok) return repaired.value;
    throw new LlmError(
      `the LLM's ${purpose} reply is not valid after one repair attempt: ${repaired.error} (endpoint ${this.endpoint}, model ${this.config.model})`,
      'invalid-reply',
    );
  }

  /**
   * One small call (`llm check`): the forms are negotiated as for any call, but a reply cut at the
   * probe's cap is neither asked again nor repaired, since a reply in a form proves the form works.
   */
  async probe<S extends z.ZodType>(
    scope: LlmScope,
    schema: S,
    messages: ChatMessage[],
  ): Promise<{ value?: z.infer<S>; cut?: number; error?: string }> {
    const reply = await callAttempts(this, scope, {
      purpose: 'llm_check',
      schema,
      messages,
      maxTokens: DEFAULT_OUTPUT_CAPS.check,
    });
    const parsed = parseReply(schema, reply.content);
    if (parsed.ok) return { value: parsed.value };
    return reply.finishReason === 'length' ? { cut: reply.maxTokens } : { error: parsed.error };
  }

  /** A reply that was not cut off: a truncated one is asked again once with a larger cap where the context allows. */
  private async whole(
    scope: LlmScope,
    purpose: string,
    schema: z.ZodType,
    messages: ChatMessage[],
    cap: number,
  ): Promise<Completion> {
    const first = await callAttempts(this, scope, { purpose, schema, messages, maxTokens: cap });
    if (first.finishReason !== 'length') return first;
    const context = this.capabilities().contextTokens;
    const larger = largerCap(first.maxTokens, first.promptTokens, context);
    const second = larger
      ? await callAttempts(this, scope, { purpose: `${purpose}:longer`, schema, messages, maxTokens: larger })
      : undefined;
    if (second && second.finishReason !== 'length') return second;
    const last = second ?? first;
    throw new LlmError(
      `the LLM's ${purpose} reply was cut off at its output cap of ${last.maxTokens} tokens (finish_reason "length")` +
        `${larger ? ', also after a retry with a larger cap' : context !== undefined ? `, and the endpoint's context of ${context} tokens leaves no room for more` : ''}` +
        `: raise llm.maxOutputTokens${this.config.maxOutputTokens ? ` (now ${this.config.maxOutputTokens})` : ''}, or use a model that stops (endpoint ${this.endpoint}, model ${this.config.model})`,
      'truncated',
    );
  }
}
