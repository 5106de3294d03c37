import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { Sdk } from './client-types.ts';

/**
 * One chat completion read as it is generated (server-sent events), so that a server that is slow
 * but generating is never cut off: the attempt times out only when nothing comes for
 * `llm.timeoutMs` (before the first chunk, or between two), or when it outlasts a total bound
 * derived from its output cap. Or, for an endpoint that refuses streaming, one plain request.
 */

/** An answered request, streamed or not: what the client reads of it. */
export type Answer = {
  content: string;
  finishReason: string | undefined;
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
  cachedTokens?: number | undefined;
};

/** The slowest generation a call is given time for: its total bound is its cap at this rate, plus llm.timeoutMs. */
const MIN_TOKENS_PER_SECOND = 2;

/** How long one attempt with this output cap may take in all: a reply at the slowest rate worth waiting for. */
const totalBoundMs = (timeoutMs: number, maxTokens: number) =>
  timeoutMs + Math.ceil((maxTokens * 1000) / MIN_TOKENS_PER_SECOND);

/** An attempt this client stopped: no progress for llm.timeoutMs, or over its total bound. */
export class AttemptTimeout extends Error {}

type Body = ChatCompletionCreateParamsNonStreaming;
type Limits = { timeoutMs: number; maxTokens: number };
/** llama.cpp sends its measures in the last chunk: the token counts when `usage` is missing. */
type Timings = { prompt_n?: number; predicted_n?: number; cache_n?: number };

export async function plainCompletion(sdk: Sdk, body: Body, signal: AbortSignal, limits: Limits): Promise<Answer> {
  try {
    return fromCompletion(await sdk.openai.chat.completions.create(body, { signal }));
  } catch (error) {
    if (error instanceof sdk.errors.APIConnectionTimeoutError)
      throw new AttemptTimeout(
        `no answer within llm.timeoutMs = ${limits.timeoutMs} ms (a plain request, not streamed)`,
      );
    throw error;
  }
}

export async function streamedCompletion(sdk: Sdk, body: Body, signal: AbortSignal, limits: Limits): Promise<Answer> {
  const controller = new AbortController();
  const cancel = () => controller.abort();
  signal.addEventListener('abort', cancel, { once: true });
  let stopped: string | undefined;
  let idle: NodeJS.Timeout | undefined;
  const stop = (why: string) => () => {
    stopped = why;
    controller.abort();
  };
  const arm = (why: string) => {
    clearTimeout(idle);
    idle = setTimeout(stop(why), limits.timeoutMs);
  };
  const total = totalBoundMs(limits.timeoutMs, limits.maxTokens);
  const whole = setTimeout(
    stop(
      `still generating after its total bound of ${total} ms (llm.timeoutMs plus its output cap of ${limits.maxTokens} tokens at ${MIN_TOKENS_PER_SECOND} tokens a second)`,
    ),
    total,
  );
  arm(`no first token within llm.timeoutMs = ${limits.timeoutMs} ms`);
  const answer: Answer = { content: '', finishReason: undefined };
  let timings: Timings | undefined;
  let chunks = 0;
  try {
    const stream = await sdk.openai.chat.completions.create(
      { ...body, stream: true, stream_options: { include_usage: true } },
      // The SDK's own timeout ends at the response's headers: the watchdog above is the one that counts.
      { signal: controller.signal, timeout: total },
    );
    for await (const chunk of stream) {
      chunks++;
      arm(`no chunk for llm.timeoutMs = ${limits.timeoutMs} ms after ${chunks} chunk(s)`);
      const choice = chunk.choices[0];
      if (choice?.delta?.content) answer.content += choice.delta.content;
      if (choice?.finish_reason) answer.finishReason = choice.finish_reason;
      if (chunk.usage) Object.assign(answer, usageOf(chunk.usage));
      timings = (chunk as { timings?: Timings }).timings ?? timings;
    }
  } catch (error) {
    if (stopped === undefined) throw asSdkError(sdk, error);
  } finally {
    clearTimeout(idle);
    clearTimeout(whole);
    signal.removeEventListener('abort', cancel);
  }
  // The SDK ends a stream whose request was aborted without an error: say which abort it was.
  if (stopped !== undefined) throw new AttemptTimeout(stopped);
  if (signal.aborted) throw new sdk.errors.APIUserAbortError();
  if (answer.finishReason === undefined)
    throw new sdk.errors.APIConnectionError({
      message: `the stream ended after ${chunks} chunk(s) without a finish_reason`,
    });
  if (answer.promptTokens === undefined && timings?.predicted_n !== undefined) {
    answer.promptTokens = (timings.prompt_n ?? 0) + (timings.cache_n ?? 0);
    answer.completionTokens = timings.predicted_n;
    if (timings.cache_n !== undefined) answer.cachedTokens = timings.cache_n;
  }
  return answer;
}

function fromCompletion(completion: ChatCompletion): Answer {
  const choice = completion.choices[0];
  return {
    content: choice?.message.content ?? '',
    finishReason: choice?.finish_reason ?? undefined,
    ...(completion.usage ? usageOf(completion.usage) : {}),
  };
}

function usageOf(usage: NonNullable<ChatCompletion['usage']>): Partial<Answer> {
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    ...(usage.prompt_tokens_details?.cached_tokens != null
      ? { cachedTokens: usage.prompt_tokens_details.cached_tokens }
      : {}),
  };
}

/**
 * An error inside a stream as the client classifies it: llama.cpp reports a failure after the
 * headers (its 500 "Context size has been exceeded.") as a `data: {"error": {"code": 500}}`
 * chunk, which the SDK raises without a status; a connection cut mid-stream is a dropped connection.
 */
function asSdkError(sdk: Sdk, error: unknown): unknown {
  if (error instanceof sdk.errors.APIUserAbortError || error instanceof sdk.errors.APIConnectionError) return error;
  if (error instanceof sdk.errors.APIError && error.status === undefined) {
    const body = error.error as { code?: unknown } | undefined;
    const status = typeof body?.code === 'number' ? body.code : 500;
    return sdk.errors.APIError.generate(
      status,
      { error: body },
      undefined,
      (error.headers as Headers | undefined) ?? new Headers(),
    );
  }
  if (error instanceof sdk.errors.APIError) return error;
  return new sdk.errors.APIConnectionError({ message: 'the stream was cut', cause: error as Error });
}
