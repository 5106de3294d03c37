import { InputError } from '../errors.ts';
import { childEnvironment } from './child-env.ts';

/** Blanks secrets out of text; `scan` also says which rules fired (recorded in the event). */
export type Redact = ((text: string) => string) & { scan(text: string): { text: string; rules: string[] } };

type Rule = { id: string; pattern: RegExp; keep?: (m: RegExpExecArray) => string };

const MARK = '[REDACTED]';

/**
 * Secrets recognised by shape, whatever variable or file they came from. Formats are those the
 * issuers document (OpenAI, GitHub, AWS, Slack, Google, Stripe keys; PEM private keys; JWTs), and
 * two structural ones: credentials inside a URL, and `NAME=value` where the name says key,
 * token, secret or password. The name or URL around a secret is kept, so the output still reads.
 */
const SHAPES: readonly Rule[] = [
  {
    id: 'private-key',
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  },
  {
    id: 'url-credentials',
    pattern: /\b([a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@]+:)([^\s@/]+)(@)/gi,
    keep: (m) => `${m[1]}${MARK}${m[3]}`,
  },
  { id: 'openai-key', pattern: /\bsk-(?:proj-|live-|test-|svcacct-)?[A-Za-z0-9_-]{16,}/g },
  { id: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g },
  { id: 'aws-access-key-id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { id: 'slack-token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  { id: 'google-api-key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { id: 'stripe-key', pattern: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { id: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  {
    id: 'secret-assignment',
    pattern:
      /\b([A-Za-z0-9_.-]*(?:key|token|secret|passw(?:or)?d|pwd|credential|auth)[A-Za-z0-9_.-]*["']?\s*[:=]\s*["']?)([^\s"'`,;]{6,})/gi,
    keep: (m) => `${m[1]}${MARK}`,
  },
];

/**
 * Blanks out the agent's own secrets (values of secret-named environment variables), secrets
 * recognised by shape, and anything matching the configured patterns. Applied to command output
 * and LLM prompts before either is recorded, stored or sent.
 */
export function makeRedactor(values: readonly string[], patterns: readonly string[] = []): Redact {
  const literal = values.filter((v) => v.length >= 6).sort((a, b) => b.length - a.length);
  const configured: Rule[] = patterns.map((p, i) => {
    try {
      return { id: `redaction.patterns[${i}]`, pattern: new RegExp(p, 'g') };
    } catch (cause) {
      throw new InputError(`redaction.patterns: invalid regular expression ${JSON.stringify(p)}`, undefined, { cause });
    }
  });
  const rules = [...SHAPES, ...configured];
  const scan = (text: string) => {
    const fired: string[] = [];
    let out = text;
    for (const v of literal) {
      if (!out.includes(v)) continue;
      out = out.split(v).join(MARK);
      if (!fired.includes('secret-env')) fired.push('secret-env');
    }
    for (const rule of rules) {
      let hit = false;
      out = out.replace(rule.pattern, (...args: unknown[]) => {
        const groups = args.slice(0, -2).filter((a) => typeof a === 'string' || a === undefined) as string[];
        const match = Object.assign([...groups], { index: 0, input: '' }) as unknown as RegExpExecArray;
        // Already blanked by an earlier rule: leave it, and do not count it twice.
        if (groups[0]?.includes(MARK)) return groups[0];
        hit = true;
        return rule.keep ? rule.keep(match) : MARK;
      });
      if (hit) fired.push(rule.id);
    }
    return { text: out, rules: fired };
  };
  return Object.assign((text: string) => scan(text).text, { scan });
}

/** What redaction needs of the configuration: the API key and the extra patterns. */
export type RedactionSettings = { llm: { apiKey?: string | undefined }; redaction: { patterns: string[] } };

export function redactorFor(config: RedactionSettings, env: NodeJS.ProcessEnv = process.env): Redact {
  return makeRedactor(
    [...childEnvironment(env).secrets, ...(config.llm.apiKey ? [config.llm.apiKey] : [])],
    config.redaction.patterns,
  );
}
