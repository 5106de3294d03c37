import type { Config } from '../config.ts';
import type { BackgroundWork, Logger, Runtime } from '../actors/actor.ts';
import { inert } from '../inert.ts';
import { EventStore } from '../nats/event-store.ts';
import { SnapshotStore } from '../nats/snapshot-store.ts';
import { jsClient, jsManager } from '../nats/jetstream-domain.ts';
import {
  authFromEnv,
  connectNats,
  isRefused,
  natsTarget,
  type NatsAuth,
  type NatsConnection,
} from '../nats/connection.ts';
import type { Role } from '../security/roles.ts';
import { NatsContents, NatsOutputs, NatsRequests } from '../nats/nats-requests.ts';
import { fewerReplicas, fewerReplicasWarning, replicasFor } from '../nats/replicas.ts';
import { JetStreamWorkQueue, ensureWorkStream } from '../nats/work-queue.ts';

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

/** A runtime on NATS: the connection is there for what only a connection does (closing it in tests). */
export type NatsRuntime = Runtime & { nc: NatsConnection };

/** Promises in flight that nobody awaits, so that shutting down can wait for them. */
export class Background implements BackgroundWork {
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

/** Who a runtime connects as: its role, and how roles prove themselves (see connection.ts). */
export type Access = { auth: NatsAuth; role: Role };

/** Storage made by the admin: `buckets()` makes the object stores the first time one is needed. */
type Storage = { buckets: () => Promise<void>; replicas?: number };
const MADE_ELSEWHERE: Storage = { buckets: async () => {} };

/** This tool's streams kept on fewer replicas than `replicas` are said: JetStream leaves them so. */
async function warnFewerReplicas(nc: NatsConnection, replicas: number, config: Config, log: Logger): Promise<void> {
  if (replicas === 1) return;
  const short = await fewerReplicas(await jsManager(nc), replicas);
  for (const s of short) log.warn(fewerReplicasWarning(s, replicas, config.natsReplicas));
}

/**
 * Creates what the roles only use: the streams, the work consumers and the buckets. Done under
 * the admin role, the only one the server lets create them, when this process has its password.
 * Resolves when the log, the work queue and the snapshots exist; the object stores are made on
 * first use, as they were before roles (a run's start-up does not wait for them).
 */
async function ensureStorage(url: string, name: string, auth: NatsAuth, config: Config, log: Logger): Promise<Storage> {
  // The first connection's server tells the cluster's size; the buckets made later use the same.
  let replicas: number | undefined;
  const asAdmin = async (make: (nc: NatsConnection, replicas: number) => Promise<unknown>) => {
    const nc = await connectNats(url, `${name} (admin)`, auth, 'admin', natsTarget(config));
    try {
      replicas ??= replicasFor(config.natsReplicas, nc.info);
      await make(nc, replicas);
    } finally {
      await nc.close();
    }
  };
  await asAdmin((nc, replicas) =>
    Promise.all([
      EventStore.open(nc, { replicas }).then((store) =>
        ensureWorkStream(store.jsm, { ackWaitMs: config.workAckWaitMs, replicas }),
      ),
      SnapshotStore.open(nc, { replicas }),
      warnFewerReplicas(nc, replicas, config, log),
    ]),
  );
  let buckets: Promise<void> | undefined;
  return {
    replicas: replicas!,
    buckets: () =>
      (buckets ??= asAdmin((nc, replicas) =>
        Promise.all([
          SnapshotStore.open(nc, { replicas }).then((s) => s.ensureLarge()),
          new NatsOutputs(nc, replicas).ensure(),
          new NatsContents(nc, replicas).ensure(),
        ]),
      ).catch((error: unknown) => {
        buckets = undefined; // tried again at the next use
        throw error;
      })),
  };
}

/** The event store and the snapshot buckets, made or bound: independent round trips, at once, as a run's start-up waits on them. */
async function openStores(
  nc: NatsConnection,
  config: Config,
  bind: Storage | undefined,
  replicas: number,
  log: Logger,
) {
  const [store, snapshots] = await Promise.all([
    EventStore.open(nc, { replicas, bind: bind !== undefined }).then(async (store) => {
      // One identity makes the work queue itself, unless the server says that identity may not
      // (an actor's own user): then an admin made it, or consume says so.
      if (!bind)
        await ensureWorkStream(store.jsm, { ackWaitMs: config.workAckWaitMs, replicas }).catch((error: unknown) => {
          if (!isRefused(error)) throw error;
        });
      return store;
    }),
    SnapshotStore.open(nc, { replicas, ...(bind ? { bind: { ready: bind.buckets } } : {}) }),
    bind ? undefined : warnFewerReplicas(nc, replicas, config, log),
  ]);
  return [store, snapshots] as const;
}

export async function openRuntime(
  url: string,
  config: Config,
  name: string,
  log: Logger,
  access: Access = { auth: authFromEnv() ?? { kind: 'none' }, role: 'cli' },
  options: { storage?: Promise<Storage>; along?: readonly Role[] } = {},
): Promise<NatsRuntime> {
  // Under roles the admin makes the streams while this connection is being made; a site's own
  // credentials hold no admin password, so it binds to what the cluster's admin made.
  const made =
    access.auth.kind === 'roles'
      ? (options.storage ?? ensureStorage(url, name, access.auth, config, log))
      : access.auth.kind === 'site'
        ? Promise.resolve(MADE_ELSEWHERE)
        : undefined;
  made?.catch(() => undefined);
  // The same process under other roles (`run` hosting actors): a connection each, opened once.
  const others = new Map<Role, Promise<NatsRuntime>>();
  const openAs = (role: Role) => {
    let other = others.get(role);
    if (!other && made) {
      other = openRuntime(url, config, `${name} [${role}]`, log, { ...access, role }, { storage: made });
      // Awaited, and its failure met, where the role is used.
      other.catch(() => undefined);
      others.set(role, other);
    }
    return other;
  };
  // Roles this process is about to play: their connections are made while this one binds.
  for (const role of options.along ?? []) if (role !== access.role) void openAs(role);
  const closeOthers = () =>
    Promise.all(
      [...others.values()].map((o) =>
        o.then(
          (r) => r.close(),
          () => undefined,
        ),
      ),
    );
  const nc = await connectNats(url, name, access.auth, access.role, natsTarget(config)).catch(
    async (error: unknown) => {
      await Promise.all([made?.catch(() => undefined), closeOthers()]);
      throw error;
    },
  );
  const bind = made
    ? await made.catch(async (error: unknown) => {
        await Promise.all([nc.close(), closeOthers()]);
        throw error;
      })
    : undefined;
  const replicas = bind?.replicas ?? replicasFor(config.natsReplicas, nc.info);
  const [store, snapshots] = await openStores(nc, config, bind, replicas, log);
  const background = new Background();
  const rt: NatsRuntime = {
    nc,
    store,
    snapshots,
    // A site's executor makes its own queue's consumer (its user may make that one alone).
    work: new JetStreamWorkQueue(jsClient(nc), store.jsm, config.workAckWaitMs),
    requests: new NatsRequests(nc),
    outputs: new NatsOutputs(nc, replicas, bind?.buckets),
    contents: new NatsContents(nc, replicas, bind?.buckets),
    config,
    log,
    background,
    as: (role) => (role === access.role ? undefined : openAs(role)) ?? Promise.resolve(rt),
    close: async () => {
      await background.settled();
      await closeOthers();
      await nc.drain();
    },
  };
  return rt;
}
