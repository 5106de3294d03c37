import type { LoggedRequest, Responder } from './fake-llm.ts';

/**
 * llama.cpp's `llama-server` as measured in ../shared/real-llm/README.md and read in its source
 * (tools/server): a number of slots sharing one KV cache; a request whose prompt reaches a slot's
 * context is refused with 400 `exceed_context_size_error` (with `n_prompt_tokens` and `n_ctx`); a
 * reply runs to `max_tokens` or to the slot's end (`finish_reason: "length"`); replies that
 * together outgrow the shared cache fail every busy slot with 500 "Context size has been
 * exceeded."; under its default (jinja) template a `json_schema` is refused with 400 "Failed to
 * initialize samplers: std::exception"; the `model` field is not checked; a request the client
 * closes is cancelled and frees its slot at once ("stop: cancel task" in its log). Tokens are 4 characters.
 */
export type LlamaOptions = {
  slots?: number;
  /** Tokens of the shared cache. */
  cacheTokens?: number;
  /** Tokens of one slot's context. */
  slotContext?: number;
  /** The default template settings, under which json_schema is refused. */
  jinja?: boolean;
  /** A model that does not stop outside a grammar: JSON mode and text replies never close. */
  runaway?: boolean;
  /** Generation time. */
  msPerToken?: number;
};

export type LlamaStats = {
  samplerRefusals: number;
  overContext: LoggedRequest[];
  overloads: number;
  mostBusy: number;
  /** Completion tokens generated, failed generations included. */
  generated: number;
  /** Generations stopped because the client closed the request. */
  cancelled: number;
};

const llamaError = (code: number, message: string, type: string, extra: Record<string, unknown> = {}) => ({
  status: code,
  body: JSON.stringify({ error: { code, message, type, ...extra } }),
});
const tokens = (text: string) => Math.ceil(text.length / 4);

type Busy = { tokens: number; fail: () => void };

export function llamaServer(inner: Responder, options: LlamaOptions = {}): { responder: Responder; stats: LlamaStats } {
  const {
    slots = 4,
    cacheTokens = 8192,
    slotContext = 4096,
    jinja = true,
    runaway = false,
    msPerToken = 0.2,
  } = options;
  const stats: LlamaStats = {
    samplerRefusals: 0,
    overContext: [],
    overloads: 0,
    mostBusy: 0,
    generated: 0,
    cancelled: 0,
  };
  const busy = new Set<Busy>();
  const waiting: (() => void)[] = [];
  const responder: Responder = async (r) => {
    const format = (r.body.response_format as { type?: string } | undefined)?.type;
    if (jinja && format === 'json_schema') {
      stats.samplerRefusals++;
      return llamaError(400, 'Failed to initialize samplers: std::exception', 'invalid_request_error');
    }
    const prompt =
      tokens(JSON.stringify(r.messages)) +
      (format === 'json_schema' ? tokens(JSON.stringify(r.body.response_format)) : 0);
    if (prompt >= slotContext) {
      stats.overContext.push(r);
      return llamaError(
        400,
        `request (${prompt} tokens) exceeds the available context size (${slotContext} tokens), try increasing it`,
        'exceed_context_size_error',
        { n_prompt_tokens: prompt, n_ctx: slotContext },
      );
    }
    if (busy.size >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    let failed = false;
    let wake = () => {};
    const me: Busy = { tokens: 0, fail: () => ((failed = true), wake()) };
    busy.add(me);
    stats.mostBusy = Math.max(stats.mostBusy, busy.size);
    try {
      const answer = await inner(r);
      if (typeof answer !== 'string') return answer;
      const content =
        runaway && format !== 'json_schema' ? `${answer.slice(0, -1)}, "notes": "${'la '.repeat(40_000)}` : answer;
      const cap = Math.min(Number(r.body.max_tokens ?? r.body.max_completion_tokens ?? Infinity), slotContext - prompt);
      const completion = Math.min(tokens(content), cap);
      me.tokens = prompt + completion;
      if ([...busy].reduce((n, b) => n + b.tokens, 0) > cacheTokens) for (const b of busy) b.fail();
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        r.signal.addEventListener('abort', () => resolve());
        if (failed || r.signal.aborted) resolve();
        else timer = setTimeout(resolve, completion * msPerToken);
      });
      clearTimeout(timer);
      if (r.signal.aborted) {
        stats.cancelled++;
        return llamaError(499, 'cancelled', 'server_error');
      }
      stats.generated += completion;
      if (failed) {
        stats.overloads++;
        // Streamed, the generation under way already answered 200: the failure is a `data:` chunk.
        return { ...llamaError(500, 'Context size has been exceeded.', 'server_error'), midStream: true };
      }
      return tokens(content) > cap ? { content: content.slice(0, cap * 4), finishReason: 'length' } : content;
    } finally {
      busy.delete(me);
      waiting.shift()?.();
    }
  };
  return { responder, stats };
}

/** What llama-server's `GET /v1/models` lists: its alias, with the slot's context in `meta`. */
export const llamaModels = (alias: string, slotContext = 4096) => [
  {
    id: alias,
    aliases: [alias],
    object: 'model',
    owned_by: 'llamacpp',
    meta: { n_ctx: slotContext, n_ctx_train: 4096 },
  },
];
