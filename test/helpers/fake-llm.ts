import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What the stand-in saw: one entry per /v1/chat/completions request. */
export type LoggedRequest = {
  at: number;
  /** The response_format schema name: which question this call asks. */
  schemaName: string;
  messages: { role: string; content: string }[];
  body: Record<string, unknown>;
  /** Aborted when the client closes the request before its answer (real servers then stop generating). */
  signal: AbortSignal;
};

export type Latency = number | (() => number);
/**
 * A reply's content; or an HTTP error (status, body, headers such as `retry-after`; `midStream`:
 * to a streamed request, sent as a `data:` chunk after a 200, as llama-server fails a generation
 * under way); or a content with the shape of a provider's reply: no `usage` block, a
 * `reasoning_content` beside it, and when streamed, a chunk every `chunkMs`, or none after `stallAfter` chunks.
 */
export type FakeReply =
  | string
  | { status: number; body: string; headers?: Record<string, string>; midStream?: boolean }
  | {
      content: string;
      usage?: false;
      reasoningContent?: string;
      finishReason?: string;
      chunkMs?: number;
      stallAfter?: number;
    };
export type Responder = (request: LoggedRequest) => FakeReply | Promise<FakeReply>;

export type FakeLlm = {
  baseUrl: string;
  requests: LoggedRequest[];
  /** Requests the client closed before they were answered. */
  readonly aborted: number;
  /** A fixed latency per call, or a function drawing one per call (a spread of latencies). */
  setLatency(ms: Latency): void;
  setResponder(responder: Responder): void;
  close(): Promise<void>;
};

/**
 * A local OpenAI-compatible server for tests, benchmarks and demos: POST /v1/chat/completions
 * with scripted replies, a configurable latency, and a log of every request. It is driven
 * through the real `openai` SDK, so the whole HTTP path is exercised. Loopback only.
 */
export async function startFakeLlm(options: {
  latencyMs?: Latency;
  responder: Responder;
  /** What `GET /v1/models` lists (llama.cpp adds `aliases` and `meta.n_ctx`, vLLM `max_model_len`); a status: that answer. */
  models?: Record<string, unknown>[] | number;
  /** What `GET /props` (at the root, as llama.cpp serves it) answers; unset: 404. */
  props?: Record<string, unknown>;
  /** A streamed request refused with this answer (as OpenAI refused `stream` for its first o1 models); unset: streamed. */
  refuseStream?: FakeReply & { status: number };
}): Promise<FakeLlm> {
  let latency: Latency = options.latencyMs ?? 0;
  /** Prompts seen so far: a prompt's longest shared prefix with one of them is "cached", as real endpoints report. */
  const seenPrompts: string[] = [];
  let responder = options.responder;
  const requests: LoggedRequest[] = [];
  let aborted = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method === 'GET' && req.url?.endsWith('/models')) {
        const models = options.models ?? [{ id: 'fake', object: 'model' }];
        if (typeof models === 'number') res.writeHead(models).end();
        else
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ object: 'list', data: models }));
        return;
      }
      if (req.method === 'GET' && req.url === '/props' && options.props) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(options.props));
        return;
      }
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
      const format = body.response_format as { json_schema?: { name?: string } } | undefined;
      const messages = (body.messages as LoggedRequest['messages']) ?? [];
      // Without a json_schema response format, the schema (and its name) is in the prompt.
      const named = /JSON Schema \(name: ([\w-]+)\)/.exec(messages.at(-1)?.content ?? '');
      const closed = new AbortController();
      res.on('close', () => {
        if (res.writableFinished) return;
        aborted++;
        closed.abort();
      });
      const entry: LoggedRequest = {
        at: Date.now(),
        schemaName: format?.json_schema?.name ?? named?.[1] ?? '',
        messages,
        body,
        signal: closed.signal,
      };
      requests.push(entry);
      const streamed = body.stream === true;
      const delay = typeof latency === 'function' ? latency() : latency;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      const answer = streamed && options.refuseStream ? options.refuseStream : await responder(entry);
      if (typeof answer !== 'string' && 'status' in answer) {
        if (streamed && answer.midStream) sse(res).end(`data: ${answer.body}\n\n`);
        else res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body);
        return;
      }
      const shaped = typeof answer === 'string' ? { content: answer } : answer;
      // A reply longer than the request's cap is cut there, as every server does: finish_reason "length".
      const cap = Number(body.max_tokens ?? body.max_completion_tokens ?? Infinity);
      const cut = Math.ceil(shaped.content.length / 4) > cap;
      const reply = cut ? shaped.content.slice(0, cap * 4) : shaped.content;
      const finishReason = cut ? 'length' : (shaped.finishReason ?? 'stop');
      const prompt = JSON.stringify(entry.messages);
      const promptTokens = Math.ceil(prompt.length / 4);
      const cachedTokens = Math.floor(Math.max(0, ...seenPrompts.map((p) => sharedPrefix(p, prompt))) / 4);
      seenPrompts.push(prompt);
      if (seenPrompts.length > 64) seenPrompts.shift();
      const completionTokens = Math.ceil(reply.length / 4);
      const usage =
        shaped.usage === false
          ? undefined
          : {
              prompt_tokens: promptTokens,
              completion_tokens: completionTokens,
              total_tokens: promptTokens + completionTokens,
              prompt_tokens_details: { cached_tokens: cachedTokens },
            };
      const head = {
        id: `chatcmpl-${requests.length}`,
        created: Math.floor(Date.now() / 1000),
        model: typeof body.model === 'string' ? body.model : 'fake',
      };
      if (streamed) {
        const options = body.stream_options as { include_usage?: boolean } | undefined;
        await streamReply(
          res,
          closed.signal,
          head,
          { ...shaped, content: reply, finishReason },
          options?.include_usage ? usage : undefined,
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          ...head,
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: reply,
                refusal: null,
                ...(shaped.reasoningContent ? { reasoning_content: shaped.reasoningContent } : {}),
              },
              finish_reason: finishReason,
              logprobs: null,
            },
          ],
          ...(usage ? { usage } : {}),
        }),
      );
    })().catch((error: unknown) => {
      res.writeHead(500).end(JSON.stringify({ error: { message: String(error) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    get aborted() {
      return aborted;
    },
    setLatency: (ms) => {
      latency = ms;
    },
    setResponder: (r) => {
      responder = r;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const sse = (res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });

/**
 * A reply as llama-server, Ollama and vLLM stream it (server-sent events): a first chunk with the
 * role, one `delta.content` chunk per token (4 characters), one with the `finish_reason`, then,
 * when `stream_options.include_usage` asked, a chunk with no choices and the `usage`, and `[DONE]`.
 * A stalled reply sends nothing more and keeps the connection open until the client closes it.
 */
async function streamReply(
  res: ServerResponse,
  closed: AbortSignal,
  head: { id: string; created: number; model: string },
  reply: { content: string; finishReason: string; chunkMs?: number; stallAfter?: number },
  usage: Record<string, unknown> | undefined,
): Promise<void> {
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(`data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices, ...extra })}\n\n`);
  const delta = (d: Record<string, unknown>, finish: string | null = null) =>
    send([{ index: 0, delta: d, finish_reason: finish }]);
  sse(res);
  delta({ role: 'assistant', content: null });
  const pieces = reply.content.match(/[\s\S]{1,4}/g) ?? [];
  for (const [i, piece] of pieces.entries()) {
    if (i === reply.stallAfter) return void (await new Promise((r) => closed.addEventListener('abort', r)));
    if (reply.chunkMs) await new Promise((r) => setTimeout(r, reply.chunkMs));
    if (closed.aborted) return;
    delta({ content: piece });
  }
  delta({}, reply.finishReason);
  if (usage) send([], { usage });
  res.end('data: [DONE]\n\n');
}

function sharedPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (data += chunk));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}
