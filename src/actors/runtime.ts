import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { Config } from '../config.ts';
import type { EventLog } from '../events/event-log.ts';
import { EventStore } from '../nats/event-store.ts';
import { SnapshotStore } from '../nats/snapshot-store.ts';
import type { Snapshots } from '../projections/snapshots.ts';
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
  /** The event log (JetStream; in memory for tests of logic). */
  store: EventLog;
  /** Projection snapshots (and the memory store): the agent_snapshots KV bucket. */
  snapshots: Snapshots;
  config: Config;
  log: Logger;
  /** Appends made in the background (LLM call records): awaited before the connection closes. */
  background: Background;
};

/** Promises in flight that nobody awaits, so that shutting down can wait for them. */
export class Background {
  private readonly pending = new Set<Promise<unknown>>();

  track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
  }

  /** Resolves when everything tracked has settled, or after `timeoutMs`. */
  async settled(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(this.pending), timeout]);
    clearTimeout(timer);
  }
}

export async function openRuntime(url: string, config: Config, name: string, log: Logger): Promise<Runtime> {
  const nc = await connectNats(url, name);
  const replicas = config.natsReplicas;
  const store = await EventStore.open(nc, { replicas });
  await ensureWorkStream(store.jsm, { ackWaitMs: config.workAckWaitMs, replicas });
  const snapshots = await SnapshotStore.open(nc, { replicas });
  return { nc, js: jetstream(nc), store, snapshots, config, log, background: new Background() };
}
