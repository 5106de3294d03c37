import { readFileSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EnvironmentError } from '../errors.ts';

export type { NatsConnection };

/**
 * Connects with unlimited reconnects: a restarted nats-server (file storage) must not end a run.
 * The first connection fails fast, with an error that names the URL.
 */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: url.split(','),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Otherwise every request builds two errors up front (for a stack trace should it fail),
      // which was 40% of an append's CPU time: appends in windows went from 12k/s to 22k/s.
      noAsyncTraces: true,
      ...natsCredentials(),
    });
  } catch (cause) {
    throw new EnvironmentError(
      `cannot connect to NATS at ${url}: ${(cause as Error).message}. ` +
        'Unset NATS_URL to let implement-agent start a local nats-server, or start one yourself.',
      { cause },
    );
  }
}

/** Credentials come from the environment (or a file it names), never from the command line. */
function natsCredentials(): { user?: string; pass?: string } {
  const user = process.env.NATS_USER;
  const file = process.env.NATS_PASSWORD_FILE;
  const pass = file ? readFileSync(file, 'utf8').trim() : process.env.NATS_PASSWORD;
  return user && pass ? { user, pass } : {};
}

/**
 * Options for every JetStream pull `consume()`. A pull request outstanding at a consumer leader
 * that stops (a cluster node down) is lost without a word; the client notices only when two idle
 * heartbeats (half of `expires` each) are missed, and then re-pulls. The library default (30 s)
 * stalls a run for half a minute per failover; 2 s bounds the stall at a few seconds, for one
 * small pull request per idle consumer every 2 s.
 */
export const PULL_EXPIRES_MS = 2_000;

export function pullOptions(maxMessages: number): { max_messages: number; expires: number } {
  return { max_messages: maxMessages, expires: PULL_EXPIRES_MS };
}
