import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { Config } from '../config.ts';
import { EventStore } from '../events/event-store.ts';
import { connectNats, type NatsConnection } from '../nats/connection.ts';
import { ensureWorkStream } from '../nats/work-queue.ts';

export type Logger = { info(msg: string): void; warn(msg: string): void; error(msg: string, error?: unknown): void };

export const stderrLogger = (name: string, quiet = false): Logger => ({
  info: (msg) => {
    if (!quiet) process.stderr.write(`[${name}] ${msg}\n`);
  },
  warn: (msg) => process.stderr.write(`[${name}] warning: ${msg}\n`),
  error: (msg, error) => process.stderr.write(`[${name}] error: ${msg}${error ? `: ${(error as Error).message ?? error}` : ''}\n`),
});

/** What every actor host of a process shares: one connection, the event store, the config. */
export type Runtime = {
  nc: NatsConnection;
  js: JetStreamClient;
  store: EventStore;
  config: Config;
  log: Logger;
};

export async function openRuntime(url: string, config: Config, name: string, log: Logger): Promise<Runtime> {
  const nc = await connectNats(url, name);
  const store = await EventStore.open(nc);
  await ensureWorkStream(store.jsm, { ackWaitMs: config.workAckWaitMs });
  return { nc, js: jetstream(nc), store, config, log };
}
