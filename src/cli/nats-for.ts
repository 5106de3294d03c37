import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { startLocalNats } from '../nats/local-server.ts';
import { lockStore } from '../nats/store-lock.ts';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The NATS this command talks to: NATS_URL (or config natsUrl) when set; otherwise a local
 * nats-server with the repository's nats.conf and the project's state folder, stopped on exit.
 */
export async function natsFor(
  config: Config,
  cwd: string,
  port?: number,
): Promise<{ url: string; local: boolean; storeDir?: string; stop(): Promise<void> }> {
  if (config.natsUrl) return { url: config.natsUrl, local: false, stop: async () => {} };
  const storeDir = resolve(cwd, config.stateDir, 'nats');
  const lock = await lockStore(storeDir);
  // The server ends when this process dies, however it dies (a parent-death signal): no orphan holds the store.
  const server = await startLocalNats({
    configFile: resolve(PACKAGE_ROOT, 'nats.conf'),
    storeDir,
    endWithParent: true,
    ...(port ? { port } : {}),
  }).catch(async (error: unknown) => {
    await lock.release();
    throw error;
  });
  await lock.publish(server.url, server.pid);
  return {
    url: server.url,
    local: true,
    storeDir,
    stop: async () => {
      await server.stop();
      await lock.release();
    },
  };
}

/** The NATS of one command, as `natsFor` gives it. */
export type NatsSession = Awaited<ReturnType<typeof natsFor>>;
