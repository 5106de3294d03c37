import type { Config } from '../config.ts';
import { EnvironmentError, InputError } from '../errors.ts';

export const DEFAULT_LLM_BASE_URL = 'https://api.openai.com/v1';

/** What the endpoint said before any call: the model to use, the models it lists, its context when it says. */
export type Probed = {
  model: string;
  models: string[];
  /** Set when the configured model is not listed and the one listed model is used instead. */
  notice?: string;
  contextTokens?: number;
};

/** One entry of `GET /models`: llama.cpp adds `aliases` and `meta.n_ctx`, vLLM `max_model_len`. */
type ListedModel = {
  id: string;
  aliases?: unknown;
  meta?: { n_ctx?: unknown };
  max_model_len?: unknown;
  owned_by?: unknown;
};

/**
 * Before a run that needs the LLM: is it there, does it take the key, and does it serve the
 * model? An unreachable server, a refused key or a model the server does not list is a
 * configuration problem (exit 2) named with its URL and the setting to change, not a task failure
 * found a minute later. A server that lists exactly one model is used with it, with a notice. A
 * server without `/models` (a 404) is taken as up.
 */
export async function probeLlm(llm: Config['llm'], timeoutMs = 5000): Promise<Probed> {
  const url = llm.baseUrl ?? DEFAULT_LLM_BASE_URL;
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({
    apiKey: llm.apiKey ?? 'not-needed-for-local-servers',
    baseURL: url,
    timeout: timeoutMs,
    maxRetries: 0,
  });
  let listed: ListedModel[];
  try {
    listed = (await client.models.list()).data;
  } catch (error) {
    if (error instanceof OpenAI.AuthenticationError || error instanceof OpenAI.PermissionDeniedError) {
      throw new EnvironmentError(
        `the LLM at ${url} refused the API key (HTTP ${error.status}): set OPENAI_API_KEY (or llm.apiKey in implement-agent.config.json)`,
      );
    }
    if (error instanceof OpenAI.APIConnectionError) {
      // The SDK's "Connection error." wraps fetch's "fetch failed", which wraps the reason.
      let why: unknown = error;
      while (why instanceof Error && why.cause instanceof Error) why = why.cause;
      throw new EnvironmentError(
        `the LLM at ${url} cannot be reached (${(why as Error).message}): set OPENAI_BASE_URL (or llm.baseUrl in implement-agent.config.json) to a running OpenAI-compatible server, or run with --llm offline`,
      );
    }
    return { model: llm.model, models: [] };
  }
  return chooseModel(url, llm.model, listed, await propsContext(url, listed, timeoutMs));
}

/** The configured model when listed (Ollama's `name:latest` and llama.cpp's aliases count), else the only one listed. */
function chooseModel(url: string, model: string, listed: ListedModel[], propsContextTokens?: number): Probed {
  const models = listed.map((m) => m.id);
  const names = (m: ListedModel) => [m.id, ...(Array.isArray(m.aliases) ? m.aliases.map(String) : [])];
  const found = listed.find((m) => names(m).some((n) => n === model || n === `${model}:latest`));
  const context = (m: ListedModel | undefined) => {
    const n = m?.meta?.n_ctx ?? m?.max_model_len ?? propsContextTokens;
    return typeof n === 'number' && n > 0 ? { contextTokens: n } : {};
  };
  if (found || listed.length === 0) return { model, models, ...context(found ?? listed[0]) };
  if (listed.length === 1)
    return {
      model: listed[0]!.id,
      models,
      notice: `the LLM at ${url} does not serve ${JSON.stringify(model)} (IMPLEMENT_AGENT_MODEL / llm.model); using the one model it lists, ${JSON.stringify(listed[0]!.id)}`,
      ...context(listed[0]),
    };
  // The endpoint answers: what is wrong is the configuration (exit 2), not the infrastructure.
  throw new InputError(
    `the LLM at ${url} does not serve the model ${JSON.stringify(model)}: set IMPLEMENT_AGENT_MODEL (or llm.model in implement-agent.config.json) to one it lists: ${models.join(', ')}`,
  );
}

/** llama.cpp servers that list no context in `/models` say it in `/props` (at the server's root). */
async function propsContext(url: string, listed: ListedModel[], timeoutMs: number): Promise<number | undefined> {
  if (listed.length !== 1 || listed[0]!.owned_by !== 'llamacpp' || listed[0]!.meta?.n_ctx !== undefined)
    return undefined;
  try {
    const response = await fetch(new URL('/props', url), { signal: AbortSignal.timeout(timeoutMs) });
    const props = (await response.json()) as { default_generation_settings?: { n_ctx?: unknown } };
    const n = props.default_generation_settings?.n_ctx;
    return typeof n === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}
