import type { ChatMessage } from './client-types.ts';

/**
 * How long a reply may be, and how much of a bad reply a repair request may carry, so that no
 * request goes over what the endpoint said its context is. Pure.
 */

/** What a call is for, as its purpose names it: each kind has its own default output cap. */
export type CallKind = 'plan' | 'criteria' | 'recovery' | 'check';

/**
 * Completion tokens per kind when `llm.maxOutputTokens` is unset: a plan of a dozen commands with
 * the files they write fits; a model that never stops is cut off here, not at the end of its slot.
 * Reasoning models count their thinking in the same cap. `llm check` is a probe, answered in
 * seconds by a slow server: a reply in the form asked for (cut or not) proves the form works.
 */
export const DEFAULT_OUTPUT_CAPS: Record<CallKind, number> = {
  plan: 4096,
  criteria: 2048,
  recovery: 2048,
  check: 32,
};

export function callKind(purpose: string): CallKind {
  if (/^plan_(criteria|successCriteria|fallbacks)/.test(purpose)) return 'criteria';
  if (purpose.startsWith('recovery')) return 'recovery';
  if (purpose.startsWith('llm_check')) return 'check';
  return 'plan';
}

/** Tokens of a text, estimated before the endpoint counts them: 3 characters a token errs on the long side. */
export const estimateTokens = (chars: number) => Math.ceil(chars / 3);
const promptChars = (messages: readonly ChatMessage[]) => messages.reduce((n, m) => n + m.content.length + 8, 0);

/** The least room worth asking for: a cap below it only buys a truncated reply. */
export const MIN_OUTPUT_TOKENS = 256;

/** The cap of a request: its kind's (or the configured one), within what the context leaves after the prompt. */
export function outputCap(
  kind: CallKind,
  configured: number | undefined,
  contextTokens: number | undefined,
  messages: readonly ChatMessage[],
): number {
  const cap = configured ?? DEFAULT_OUTPUT_CAPS[kind];
  if (contextTokens === undefined) return cap;
  return Math.max(
    Math.min(MIN_OUTPUT_TOKENS, cap),
    Math.min(cap, contextTokens - estimateTokens(promptChars(messages))),
  );
}

/** The cap to retry a truncated reply with: twice the last, where the context leaves room; undefined: none. */
export function largerCap(
  cap: number,
  promptTokens: number | undefined,
  contextTokens: number | undefined,
): number | undefined {
  const room = contextTokens !== undefined && promptTokens !== undefined ? contextTokens - promptTokens : Infinity;
  const larger = Math.min(cap * 2, room);
  return larger > cap ? larger : undefined;
}

/**
 * The repair request: the conversation, the bad reply (cut to what the context leaves room for,
 * or left out), and what was wrong with it.
 */
export function repairMessages(
  messages: readonly ChatMessage[],
  reply: { content: string; promptTokens?: number | undefined; completionTokens?: number | undefined },
  error: string,
  cap: number,
  contextTokens: number | undefined,
): ChatMessage[] {
  const ask = `That reply is not valid: ${error}. Reply again with only a JSON object that matches the schema.`;
  let content = reply.content;
  if (contextTokens !== undefined) {
    const prompt = reply.promptTokens ?? estimateTokens(promptChars(messages));
    const charsPerToken = reply.completionTokens ? reply.content.length / reply.completionTokens : 3;
    const room = contextTokens - prompt - cap - estimateTokens(ask.length) - 16;
    if (room < estimateTokens(content.length))
      content = room > 32 ? content.slice(0, Math.floor(room * charsPerToken)) : '';
  }
  return [
    ...messages,
    ...(content ? [{ role: 'assistant' as const, content }] : []),
    {
      role: 'user',
      content: content
        ? ask
        : `Your previous reply was not valid: ${error}. Reply with only a JSON object that matches the schema.`,
    },
  ];
}
