import type * as z from 'zod';
import { LlmError } from '../errors.ts';
import { degradation, type Learned } from './capabilities.ts';
import type { AttemptClient, ChatMessage, LlmScope } from './client-types.ts';
import { classifyFailure, type AttemptFailure } from './failures.ts';
import { isCancelled, trackCall } from './in-flight.ts';
import { estimateTokens, MIN_OUTPUT_TOKENS } from './output-caps.ts';
import { chatRequest, pinHint, pinsOf } from './request.ts';
import { plainCompletion, streamedCompletion, type Answer } from './stream.ts';

export type Completion = {
  content: string;
  finishReason: string | undefined;
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
  maxTokens: number;
};

type Call = { purpose: string; schema: z.ZodType; messages: ChatMessage[]; maxTokens: number };

/** Overload retries of one call while other calls shared the endpoint: waiting for them is worth it, up to here. */
const MAX_CROWDED_RETRIES = 12;
/** Forms tried in one call at most: the output modes (json_schema, json_object, text), then temperature, the max-tokens parameter, streaming. */
const MAX_DEGRADATIONS = 5;

/**
 * One call, as many HTTP attempts as it takes, each recorded: overload (429, 5xx, a timeout)
 * waits and retries, through the endpoint's limiter, which backs off; a refused setting is tried
 * in its next form, and kept once that form worked; a request over the context is retried once
 * with a cap that fits. A call alone at the endpoint gets `llm.maxRetries` retries, so overload
 * that waiting for other calls would clear never fails it.
 */
export async function callAttempts(client: AttemptClient, scope: LlmScope, call: Call): Promise<Completion> {
  const sdk = await client.load();
  const name = call.purpose.replace(/[^a-zA-Z0-9_-]/g, '_').replace(/_(repair|longer)$/, '');
  const state: State = { probing: [], maxTokens: call.maxTokens, alone: 0, crowded: 0, shrunk: false };
  for (let attempt = 1; ; attempt++) {
    const caps = client.capabilities(state.probing);
    const limiter = client.limiter();
    const slot = await limiter.acquire();
    if (isCancelled(scope)) {
      limiter.release(slot, 'other');
      const failure = { kind: 'cancelled', message: 'its run is over or its task skipped' } as const;
      throw callError(client, call.purpose, failure, attempt);
    }
    const body = chatRequest(
      sdk.zodResponseFormat,
      client.config,
      caps,
      { ...call, name, maxTokens: state.maxTokens },
      client.redact,
    );
    const base = { purpose: call.purpose, model: client.config.model, attempt, maxTokens: state.maxTokens };
    let failure: AttemptFailure;
    try {
      const limits = { timeoutMs: client.config.timeoutMs, maxTokens: state.maxTokens };
      const complete = caps.streaming === 'on' ? streamedCompletion : plainCompletion;
      const answer = await trackCall(scope, (signal) => complete(sdk, body, signal, limits));
      limiter.release(slot, 'ok');
      const done = succeeded(client, scope, { ...base, durationMs: performance.now() - slot.startedAt }, answer);
      for (const l of state.probing) client.learn(scope, l);
      noteConcurrency(client, scope, limiter.current);
      return done;
    } catch (cause) {
      failure = classifyFailure(sdk.errors, cause);
      limiter.release(slot, failure.kind === 'overloaded' || failure.kind === 'timeout' ? 'overloaded' : 'other');
    }
    const learned =
      failure.kind === 'refused' && state.probing.length < MAX_DEGRADATIONS
        ? degradation(failure.refusal, caps, pinsOf(client.config))
        : undefined;
    client.record(scope, {
      ...base,
      durationMs: performance.now() - slot.startedAt,
      ok: false,
      error: failure.message,
      outcome: outcomeOf(failure),
      ...('status' in failure && failure.status !== undefined ? { status: failure.status } : {}),
      ...(learned ? { refused: learned.setting } : {}),
    });
    noteConcurrency(client, scope, limiter.current);
    if (learned) state.probing.push(learned);
    else await afterFailure(client, scope, call, state, failure, slot.peak > 1, attempt);
  }
}

/** Records an answered attempt (cut off or not) with its tokens; the answer, never a `reasoning_content` beside it. */
function succeeded(
  client: AttemptClient,
  scope: LlmScope,
  base: { purpose: string; model: string; attempt: number; maxTokens: number; durationMs: number },
  answer: Answer,
): Completion {
  const { content, finishReason, promptTokens, completionTokens, cachedTokens } = answer;
  client.record(scope, {
    ...base,
    ok: finishReason !== 'length',
    outcome: finishReason === 'length' ? 'truncated' : 'ok',
    status: 200,
    ...(promptTokens !== undefined ? { promptTokens } : {}),
    ...(completionTokens !== undefined ? { completionTokens } : {}),
    ...(cachedTokens !== undefined ? { cachedTokens } : {}),
  });
  return { content, finishReason, promptTokens, completionTokens, maxTokens: base.maxTokens };
}

/** What one call carries from attempt to attempt. */
type State = { probing: Learned[]; maxTokens: number; alone: number; crowded: number; shrunk: boolean };

/** After a failed attempt that taught no setting: wait, or change the cap, for the next one; or throw. */
async function afterFailure(
  client: AttemptClient,
  scope: LlmScope,
  call: Call,
  state: State,
  failure: AttemptFailure,
  crowded: boolean,
  attempt: number,
): Promise<void> {
  if (failure.kind === 'context') {
    const context = failure.contextTokens;
    if (context && context !== client.capabilities().contextTokens)
      client.learn(scope, { setting: 'contextTokens', value: String(context), reason: failure.message.slice(0, 200) });
    // llama.cpp counts the prompt alone against its context (and says so); others count prompt and cap.
    const prompt = failure.promptTokens ?? estimateTokens(call.messages.reduce((n, m) => n + m.content.length, 0));
    const fits = context !== undefined ? Math.min(state.maxTokens, context - prompt) : undefined;
    if (!state.shrunk && fits !== undefined && fits >= MIN_OUTPUT_TOKENS && fits < state.maxTokens) {
      state.shrunk = true;
      state.maxTokens = fits;
      return;
    }
    throw callError(client, call.purpose, failure, attempt);
  }
  if (failure.kind === 'overloaded' || failure.kind === 'timeout' || failure.kind === 'unreachable') {
    if (crowded && failure.kind !== 'unreachable' && state.crowded < MAX_CROWDED_RETRIES) state.crowded++;
    else if (state.alone++ >= client.config.maxRetries) throw callError(client, call.purpose, failure, attempt);
    const retryAfter = failure.kind === 'overloaded' ? failure.retryAfterMs : undefined;
    await pause(backoffMs(state.alone + state.crowded, retryAfter));
    return;
  }
  const hint = failure.kind === 'refused' ? pinHint(failure.refusal, client.config) : '';
  throw callError(client, call.purpose, failure, attempt, hint);
}

function outcomeOf(failure: AttemptFailure) {
  switch (failure.kind) {
    case 'overloaded':
    case 'timeout':
    case 'refused':
    case 'cancelled':
      return failure.kind;
    case 'context':
      return 'refused' as const;
    case 'unreachable':
    case 'failed':
      return 'failed' as const;
    default: {
      const never: never = failure;
      return never;
    }
  }
}

/** A whole-number change of the calls the endpoint takes is recorded, so the next run starts from it. */
function noteConcurrency(client: AttemptClient, scope: LlmScope, current: number): void {
  const known = client.capabilities().concurrency ?? client.config.concurrency;
  if (current !== known)
    client.learn(scope, {
      setting: 'concurrency',
      value: String(current),
      reason: current < known ? 'the endpoint answered overload' : 'the endpoint took more calls without overload',
    });
}

/** Exponential from a quarter second, at most 10 s, jittered; a `retry-after` wins. */
const backoffMs = (n: number, retryAfterMs: number | undefined) =>
  retryAfterMs ?? Math.min(10_000, 250 * 2 ** Math.max(0, n - 1)) * (0.5 + Math.random() / 2);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An error a user can act on: the endpoint, the model, what happened, and the setting to change. */
function callError(
  client: AttemptClient,
  purpose: string,
  failure: AttemptFailure,
  attempts: number,
  hint = '',
): LlmError {
  const { endpoint, config } = client;
  const where = `the LLM call for ${purpose} to ${endpoint} (model ${config.model})`;
  switch (failure.kind) {
    case 'timeout':
      return new LlmError(
        `${where} timed out: ${failure.message}; ${attempts} attempt(s) (llm.maxRetries = ${config.maxRetries}); raise llm.timeoutMs for a server that is slow to start a reply`,
        'transport',
      );
    case 'overloaded':
      return new LlmError(
        `${where} was answered as overloaded ${attempts} time(s) (HTTP ${failure.status ?? 'connection dropped'}: ${failure.message}); lower llm.concurrency or raise llm.maxRetries (now ${config.maxRetries})`,
        'transport',
      );
    case 'unreachable':
      return new LlmError(
        `${where} cannot reach the endpoint (${failure.message}): check llm.baseUrl / OPENAI_BASE_URL`,
        'transport',
      );
    case 'context':
      return new LlmError(
        `${where} is over the endpoint's context${failure.contextTokens ? ` of ${failure.contextTokens} tokens` : ''} (${failure.message}); lower context.budgetTokens / context.projectTokens or llm.maxOutputTokens, or give the server a larger context`,
        'context',
      );
    case 'cancelled':
      return new LlmError(`${where} was cancelled: its run is over, or its task was skipped`, 'cancelled');
    case 'refused':
    case 'failed': {
      const status = failure.status !== undefined ? `HTTP ${failure.status}: ` : '';
      const knob =
        failure.status === 404
          ? '; check IMPLEMENT_AGENT_MODEL (llm.model) against `implement-agent llm check`'
          : failure.status === 401 || failure.status === 403
            ? '; check OPENAI_API_KEY (llm.apiKey)'
            : '';
      return new LlmError(`${where} failed: ${status}${failure.message}${hint}${knob}`, 'transport');
    }
    default: {
      const never: never = failure;
      return never;
    }
  }
}
