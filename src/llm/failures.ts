import type OpenAI from 'openai';
import { contextRefusal, type Refusal } from './capabilities.ts';
import { AttemptTimeout } from './stream.ts';

/**
 * How one HTTP attempt failed, from the SDK's error classes and the status, never from message
 * text alone: what the client does next depends only on this.
 */
export type AttemptFailure =
  /** 429, 5xx (llama.cpp's 500 "Context size has been exceeded." included), a dropped connection: waiting helps. */
  | { kind: 'overloaded'; status?: number | undefined; retryAfterMs?: number | undefined; message: string }
  | { kind: 'timeout'; message: string }
  /** Nothing listens there. */
  | { kind: 'unreachable'; message: string }
  /** The request is over the endpoint's context. */
  | {
      kind: 'context';
      status: number;
      contextTokens?: number | undefined;
      promptTokens?: number | undefined;
      message: string;
    }
  /** Any other 400 or 422: a setting of the request was refused. */
  | { kind: 'refused'; status: number; refusal: Refusal; message: string }
  | { kind: 'cancelled'; message: string }
  /** A bad key, a missing model, anything else: no retry helps. */
  | { kind: 'failed'; status?: number | undefined; message: string };

type APIError = InstanceType<typeof OpenAI.APIError>;
type Sdk = Pick<typeof OpenAI, 'APIError' | 'APIUserAbortError' | 'APIConnectionError' | 'APIConnectionTimeoutError'>;

export function classifyFailure(sdk: Sdk, cause: unknown): AttemptFailure {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (cause instanceof AttemptTimeout) return { kind: 'timeout', message };
  if (cause instanceof sdk.APIUserAbortError) return { kind: 'cancelled', message };
  if (cause instanceof sdk.APIConnectionTimeoutError) return { kind: 'timeout', message };
  if (cause instanceof sdk.APIConnectionError) {
    const why = innermost(cause);
    return (why as NodeJS.ErrnoException).code === 'ECONNREFUSED'
      ? { kind: 'unreachable', message: why.message }
      : { kind: 'overloaded', message: why.message };
  }
  if (!(cause instanceof sdk.APIError)) return { kind: 'failed', message };
  const api = cause as APIError;
  const status = api.status;
  if (status === undefined) return { kind: 'failed', message };
  const refusal = asRefusal(api);
  if (status === 408) return { kind: 'timeout', message: refusal.message };
  if (status === 429 || status >= 500)
    return { kind: 'overloaded', status, retryAfterMs: retryAfter(api.headers), message: refusal.message };
  const context = contextRefusal(refusal);
  if (context)
    return {
      kind: 'context',
      status,
      contextTokens: context.contextTokens,
      promptTokens: refusal.nPromptTokens,
      message: refusal.message,
    };
  if (status === 400 || status === 422) return { kind: 'refused', status, refusal, message: refusal.message };
  return { kind: 'failed', status, message: refusal.message };
}

/** A provider's error body as a refusal: OpenAI's `{error: {message, type, param, code}}`, llama.cpp's context fields. */
function asRefusal(error: APIError): Refusal {
  const body = error.error as Record<string, unknown> | undefined;
  const text = (k: string) => {
    const v = body?.[k];
    return typeof v === 'string' ? v : undefined;
  };
  const int = (k: string) => {
    const v = body?.[k];
    return typeof v === 'number' ? v : undefined;
  };
  return {
    status: error.status,
    param: error.param,
    // llama.cpp's `code` is the HTTP status again, a number: only a word says more than the status.
    code: typeof error.code === 'string' ? error.code : undefined,
    message: text('message') ?? error.message,
    type: text('type'),
    nCtx: int('n_ctx'),
    nPromptTokens: int('n_prompt_tokens'),
  };
}

function innermost(error: Error): Error {
  let why = error;
  while (why.cause instanceof Error) why = why.cause;
  return why;
}

function retryAfter(headers: Headers | undefined): number | undefined {
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}
