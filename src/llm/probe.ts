import type { Config } from '../config.ts';
import { EnvironmentError } from '../errors.ts';

export const DEFAULT_LLM_BASE_URL = 'https://api.openai.com/v1';

/**
 * Before a run that needs the LLM: is it there, and does it take the key? An unreachable server
 * or a refused key is a configuration problem (exit 2) named with its URL and the setting to
 * change, not a task failure found a minute later. Any other answer (even 404 from a server
 * without /models) means it is up.
 */
export async function probeLlm(llm: Config['llm'], timeoutMs = 5000): Promise<void> {
  const url = llm.baseUrl ?? DEFAULT_LLM_BASE_URL;
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({
    apiKey: llm.apiKey ?? 'not-needed-for-local-servers',
    baseURL: url,
    timeout: timeoutMs,
    maxRetries: 0,
  });
  try {
    await client.models.list();
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
  }
}
