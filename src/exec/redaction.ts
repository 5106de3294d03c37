import type { Config } from '../config.ts';
import { InputError } from '../errors.ts';
import { childEnvironment } from './child-env.ts';

export type Redact = (text: string) => string;

/**
 * Blanks out the agent's own secrets (values of secret-named environment variables) and anything
 * matching the configured patterns. Applied to command output and LLM prompts before either is
 * recorded or sent.
 */
export function makeRedactor(values: readonly string[], patterns: readonly string[] = []): Redact {
  const literal = values.filter((v) => v.length >= 6).sort((a, b) => b.length - a.length);
  const regexes = patterns.map((p) => {
    try {
      return new RegExp(p, 'g');
    } catch (cause) {
      throw new InputError(`redaction.patterns: invalid regular expression ${JSON.stringify(p)}`, undefined, { cause });
    }
  });
  return (text) => {
    let out = text;
    for (const v of literal) out = out.split(v).join('[REDACTED]');
    for (const re of regexes) out = out.replace(re, '[REDACTED]');
    return out;
  };
}

export function redactorFor(config: Config, env: NodeJS.ProcessEnv = process.env): Redact {
  return makeRedactor([...childEnvironment(env).secrets, ...(config.llm.apiKey ? [config.llm.apiKey] : [])], config.redaction.patterns);
}
