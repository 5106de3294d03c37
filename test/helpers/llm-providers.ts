import type { FakeReply, LoggedRequest, Responder } from './fake-llm.ts';

/**
 * Stand-ins for the endpoints users bring, each answering as its provider documents (error bodies
 * included), wrapped around a responder that knows what to answer (the demo planner). Written from
 * the providers' documented behaviour: OpenAI's reasoning models, DeepSeek's JSON mode, local
 * reasoning models behind Ollama / LM Studio / llama.cpp, servers without structured output,
 * rate limits, replies without usage.
 */
export type ProviderKind =
  | 'openai-reasoning'
  | 'deepseek-json-mode'
  | 'local-thinking'
  | 'text-only'
  | 'rate-limited'
  | 'no-usage';
export const PROVIDER_KINDS: readonly ProviderKind[] = [
  'openai-reasoning',
  'deepseek-json-mode',
  'local-thinking',
  'text-only',
  'rate-limited',
  'no-usage',
];

export type Provider = {
  responder: Responder;
  /** Requests refused with a 4xx that a client could have avoided. */ refused: LoggedRequest[];
};

const openAiError = (
  status: number,
  error: { message: string; type?: string; param?: string | null; code?: string | null },
): FakeReply => ({
  status,
  body: JSON.stringify({ error: { type: 'invalid_request_error', param: null, code: null, ...error } }),
});

type Format = { type?: string } | undefined;
const formatOf = (r: LoggedRequest) => (r.body.response_format as Format)?.type;
const promptOf = (r: LoggedRequest) => r.messages.map((m) => m.content).join('\n');

export function provider(kind: ProviderKind, inner: Responder): Provider {
  const refused: LoggedRequest[] = [];
  const refuse = (r: LoggedRequest, reply: FakeReply) => {
    refused.push(r);
    return reply;
  };
  let limited = 0;
  const responder: Responder = async (r) => {
    switch (kind) {
      case 'openai-reasoning':
        // gpt-5, o3, o4-mini (and their Azure deployments): only the default temperature, no max_tokens.
        if (r.body.temperature !== undefined && r.body.temperature !== 1) {
          return refuse(
            r,
            openAiError(400, {
              message: `Unsupported value: 'temperature' does not support ${JSON.stringify(r.body.temperature)} with this model. Only the default (1) value is supported.`,
              param: 'temperature',
              code: 'unsupported_value',
            }),
          );
        }
        if ('max_tokens' in r.body) {
          return refuse(
            r,
            openAiError(400, {
              message:
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
              param: 'max_tokens',
              code: 'unsupported_parameter',
            }),
          );
        }
        return inner(r);
      case 'deepseek-json-mode': {
        // JSON mode, no structured outputs; JSON mode only with the word "json" in the prompt.
        const format = formatOf(r);
        if (format === 'json_schema')
          return refuse(
            r,
            openAiError(400, {
              message: 'This response_format type is unavailable now',
              code: 'invalid_request_error',
            }),
          );
        if (format === 'json_object' && !/json/i.test(promptOf(r))) {
          return refuse(
            r,
            openAiError(400, {
              message:
                "Prompt must contain the word 'json' in some form to use 'response_format' of type 'json_object'.",
            }),
          );
        }
        // Without the schema in the prompt the model answers JSON of a shape of its own.
        if (!r.schemaName) return JSON.stringify({ plan: 'create the files' });
        return inner(r);
      }
      case 'local-thinking': {
        // deepseek-r1 / qwen3 served locally: the thinking first, then the answer in a fence.
        const answer = await inner(r);
        if (typeof answer !== 'string') return answer;
        return {
          content: `<think>\nThe user wants a plan. Maybe {"commands": []} would do? No, list them.\n</think>\n\nHere is the plan:\n\n\`\`\`json\n${answer}\n\`\`\`\n`,
          reasoningContent: '{"commands": "this is the thinking, not the answer"}',
        };
      }
      case 'text-only':
        // A server without response_format support at all (older local servers, some proxies).
        if (r.body.response_format !== undefined) {
          return refuse(
            r,
            openAiError(400, {
              message: `response_format of type '${formatOf(r) ?? ''}' is not supported by this model`,
              param: 'response_format',
            }),
          );
        }
        if (!r.schemaName) return 'I would create the files.';
        const answer = await inner(r);
        return typeof answer === 'string' ? `Sure. ${answer}` : answer;
      case 'rate-limited':
        // Every third request is refused once with 429 and a retry-after: the SDK waits and retries.
        if (++limited % 3 === 1)
          return {
            status: 429,
            headers: { 'retry-after': '0' },
            body: JSON.stringify({
              error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
            }),
          };
        return inner(r);
      case 'no-usage': {
        const answer = await inner(r);
        return typeof answer === 'string' ? { content: answer, usage: false } : answer;
      }
      default: {
        const never: never = kind;
        return never;
      }
    }
  };
  return { responder, refused };
}
