import type { zodResponseFormat as ZodResponseFormat } from 'openai/helpers/zod';
import * as z from 'zod';
import type { Config } from '../config.ts';
import {
  degradation,
  DEFAULT_CAPABILITIES,
  type Capabilities,
  type CapabilityPins,
  type Refusal,
} from './capabilities.ts';
import type { ChatMessage } from './client-types.ts';
import { jsonCandidates } from './reply-text.ts';

/** The body of one chat completion request, in the form the endpoint is known to accept. Pure. */
export function chatRequest(
  zodResponseFormat: typeof ZodResponseFormat,
  config: Config['llm'],
  caps: Capabilities,
  call: { name: string; schema: z.ZodType; messages: ChatMessage[]; maxTokens: number },
  redact: (text: string) => string,
) {
  const redacted = call.messages.map((m) => ({ ...m, content: redact(m.content) }));
  if (caps.structuredOutput !== 'json_schema') {
    // JSON mode needs the word "JSON" in the prompt (DeepSeek refuses it otherwise), and neither
    // it nor plain text knows the schema unless the prompt carries it. Last, so prefixes stay cacheable.
    const last = redacted.length - 1;
    redacted[last] = {
      ...redacted[last]!,
      content: `${redacted[last]!.content}\n\n${schemaInstruction(call.name, call.schema)}`,
    };
  }
  const temperature = config.temperature ?? 0;
  return {
    model: config.model,
    messages: redacted,
    ...(caps.structuredOutput === 'json_schema'
      ? { response_format: zodResponseFormat(call.schema, call.name) }
      : caps.structuredOutput === 'json_object'
        ? { response_format: { type: 'json_object' as const } }
        : {}),
    ...(caps.temperature === 'send' && temperature !== null ? { temperature } : {}),
    [caps.maxTokensParam]: call.maxTokens,
  };
}

/** The schema in words a model reads; the stand-ins in the tests read the name back. */
function schemaInstruction(name: string, schema: z.ZodType): string {
  const { $schema: _, ...json } = z.toJSONSchema(schema) as Record<string, unknown>;
  return `Reply with only one JSON object, no prose, that matches this JSON Schema (name: ${name}):\n${JSON.stringify(json)}`;
}

export const pinsOf = (config: Config['llm']): CapabilityPins => ({
  structuredOutput: config.structuredOutput,
  temperature: config.temperature,
  maxTokensParam: config.maxTokensParam,
});

/** A refusal of a pinned setting says which pin to change. */
export function pinHint(refusal: Refusal | undefined, config: Config['llm']): string {
  if (!refusal) return '';
  const unpinned = degradation(refusal, DEFAULT_CAPABILITIES, {});
  if (!unpinned) return '';
  const pinned = pinsOf(config)[unpinned.setting as keyof CapabilityPins];
  return pinned !== undefined
    ? ` (llm.${unpinned.setting} is pinned to ${JSON.stringify(pinned)} in the configuration; remove it to let the client adapt)`
    : '';
}

/** The first JSON value in a reply that the schema accepts; else one line on what is wrong, never a zod dump. */
export function parseReply<S extends z.ZodType>(
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
