import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { authFromEnv, type NatsAuth } from '../nats/connection.ts';
import { startLocalNats } from '../nats/local-server.ts';
import { lockStore, lockedServerUrl, type HolderKind } from '../nats/store-lock.ts';
import { InputError } from '../errors.ts';
import { err } from './terminal.ts';
import { settleState } from './project-state.ts';
import { CREDENTIALS_FILE, readCredentials, storeCredentials, writeServerConfig } from '../security/credentials.ts';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type NatsSession = {
  url: string;
  /** Whether this command started the server (and stops it). */
  local: boolean;
  storeDir?: string;
  /** How this command's connections prove their roles. */
  auth: NatsAuth;
  stop(): Promise<void>;
};

/**
 * The NATS this command talks to: NATS_URL (or config natsUrl) when set; otherwise the server of
 * the project's store (found from `start`, settled into `config.stateDir`): the one a holder runs
 * there when this command may join it (`up`'s; a run's, to read), or a local nats-server this
 * command starts, with the package's nats.conf and the store's credentials, stopped on exit.
 * `kind`: what this command is to the store (store-lock.ts); `create`: it may make the store
 * (default: all but `read`); `site`: a server started here admits that site's user too.
 */
export async function natsFor(
  config: Config,
  start: string,
  options: { port?: number; kind: HolderKind; create?: boolean; site?: string },
): Promise<NatsSession> {
  if (!config.natsUrl) refuseLocalDomain(config);
  await settleState(config, start, {
    create: options.create ?? options.kind !== 'read',
    remote: config.natsUrl !== undefined,
  });
  const storeDir = join(config.stateDir, 'nats');
  if (config.natsUrl)
    return {
      url: config.natsUrl,
      local: false,
      auth: await remoteAuth(config.natsUrl, storeDir),
      stop: async () => {},
    };
  const lock = await lockStore(storeDir, { kind: options.kind, waiting: sayWaiting(storeDir) });
  const credentialsFile = join(storeDir, CREDENTIALS_FILE);
  if (lock.kind === 'joined') {
    const credentials = await readCredentials(credentialsFile);
    return {
      url: lock.url,
      local: false,
      storeDir,
      auth: { kind: 'roles', credentials, source: credentialsFile },
      stop: async () => {},
    };
  }
  try {
    const credentials = await storeCredentials(storeDir, options.site);
    const base = await readFile(resolve(PACKAGE_ROOT, 'nats.conf'), 'utf8');
    // The server ends when this process dies, however it dies (a parent-death signal): no orphan holds the store.
    const server = await startLocalNats({
      configFile: await writeServerConfig(storeDir, base, credentials),
      storeDir,
      endWithParent: true,
      ...(options.port ? { port: options.port } : {}),
    });
    await lock.publish(server.url, server.pid);
    return {
      url: server.url,
      local: true,
      storeDir,
      auth: { kind: 'roles', credentials, source: credentialsFile },
      stop: async () => {
        await server.stop();
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** The project's own server has no JetStream domain: a request in one would go unanswered. */
export function refuseLocalDomain(config: Config): void {
  if (config.natsDomain !== undefined)
    throw new InputError(
      `natsDomain (NATS_DOMAIN) is ${config.natsDomain}, a domain of the cluster NATS_URL names, and NATS_URL is not set: set it, or unset natsDomain to use the project's own nats-server`,
    );
}

const HOLDERS: Record<HolderKind, string> = { run: 'its run', shared: 'its actors', read: 'a command' };
/** Said once when this command waits for the store: who holds it and what for. */
const sayWaiting = (storeDir: string) => (holder: { pid: number; kind: HolderKind }) =>
  err(
    `implement-agent: waiting for implement-agent (pid ${holder.pid}) to finish ${HOLDERS[holder.kind]} on ${storeDir}; this one starts then (Ctrl-C gives up)`,
  );

/**
 * Credentials for a server named by NATS_URL: those the environment names, else the store's own
 * when its lock says that very server runs on it (never sent to any other server).
 */
export async function remoteAuth(url: string, storeDir: string): Promise<NatsAuth> {
  const fromEnv = authFromEnv();
  if (fromEnv) return fromEnv;
  if ((await lockedServerUrl(storeDir)) !== url) return { kind: 'none' };
  const file = join(storeDir, CREDENTIALS_FILE);
  return { kind: 'roles', credentials: await readCredentials(file), source: file };
}
