import { jetstream } from '@nats-io/jetstream';
import type { Config } from '../config.ts';
import { inert } from '../inert.ts';
import type { ContentStore, OutputStore, Requests, WorkQueue } from '../events/bus.ts';
import type { EventLog } from '../events/event-log.ts';
import { EventStore } from '../nats/event-store.ts';
import { SnapshotStore } from '../nats/snapshot-store.ts';
import type { Snapshots } from '../projections/snapshots.ts';
import { connectNats, type NatsConnection } from '../nats/connection.ts';
import { NatsContents, NatsOutputs, NatsRequests } from '../nats/nats-requests.ts';
import { JetStreamWorkQueue, ensureWorkStream } from '../nats/work-queue.ts';

export type Logger = { info(msg: string): void; warn(msg: string): void; error(msg: string, error?: unknown): void };

/** Messages carry paths, commands and LLM text: their control characters are escaped (`inert`). */
export const stderrLogger = (name: string, quiet = false): Logger => ({
  info: (msg) => {
    if (!quiet) process.stderr.write(`${inert(`[${name}] ${msg}`)}\n`);
  },
  warn: (msg) => process.stderr.write(`${inert(`[${name}] warning: ${msg}`)}\n`),
  error: (msg, error) =>
    process.stderr.write(
      `${inert(`[${name}] error: ${msg}${error ? `: ${(error as Error).message ?? error}` : ''}`)}\n`,
    ),
});

/**
 * What every actor host of a process shares: the event log, the snapshots, the work queue, the
 * requests, the config. Each is a contract with a NATS implementation (`openRuntime`) and one in
 * memory (`memoryRuntime` in test/helpers), so hosts run the same on both.
 */
export type Runtime = {
  /** The event log (JetStream). */
  store: EventLog;
  /** Projection snapshots (and the memory store): the agent_snapshots KV bucket. */
  snapshots: Snapshots;
  /** Work items between actors (the AGENT_WORK work queue). */
  work: WorkQueue;
  /** Request/reply (recovery requests, pings). */
  requests: Requests;
  /** Full command outputs (the agent_outputs object store). */
  outputs: OutputStore;
  /** File contents before and after each task (the agent_contents object store). */
  contents: ContentStore;
  config: Config;
  log: Logger;
  /** Appends made in the background (LLM call records): awaited before the connection closes. */
  background: Background;
  /** Waits for the background appends, then closes the connection once what is in flight is sent. */
  close(): Promise<void>;
};

/** A runtime on NATS: the connection is there for what only a connection does (closing it in tests). */
export type NatsRuntime = Runtime & { nc: NatsConnection };

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

export async function openRuntime(url: string, config: Config, name: string, log: Logger): Promise<NatsRuntime> {
  const nc = await connectNats(url, name);
  const replicas = config.natsReplicas;
  // Independent round trips, at once: a run's start-up waits on them.
  const [store, snapshots] = await Promise.all([
    EventStore.open(nc, { replicas }).then(async (store) => {
      await ensureWorkStream(store.jsm, { ackWaitMs: config.workAckWaitMs, replicas });
      return store;
    }),
    SnapshotStore.open(nc, { replicas }),
  ]);
  const background = new Background();
  return {
    nc,
    store,
    snapshots,
    work: new JetStreamWorkQueue(jetstream(nc)),
    requests: new NatsRequests(nc),
    outputs: new NatsOutputs(nc, replicas),
    contents: new NatsContents(nc, replicas),
    config,
    log,
    background,
    close: async () => {
      await background.settled();
      await nc.drain();
    },
  };
}
