/** Names of environment variables whose values the agent keeps from children and from the log. */
const SECRET_ENV =
  /(^OPENAI_|^NATS_(USER|PASSWORD|TOKEN|CREDS|NKEY)|API_KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY)/i;

/**
 * The environment a command runs in: ours minus the agent's secrets (API keys, NATS
 * credentials, anything named like a token or password), with LC_ALL=C so tools print English
 * messages the error patterns understand. Returns the removed values too, for redaction.
 */
export function childEnvironment(base: NodeJS.ProcessEnv = process.env): {
  env: Record<string, string>;
  secrets: string[];
} {
  const env: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined) continue;
    if (SECRET_ENV.test(key) || key === 'NATS_URL') {
      if (SECRET_ENV.test(key)) secrets.push(value);
      continue;
    }
    env[key] = value;
  }
  env.LC_ALL = 'C';
  env.LANG = 'C';
  return { env, secrets };
}
