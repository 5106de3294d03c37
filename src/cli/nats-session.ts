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
export async function natsFor(config: Config, cwd: string): Promise<{ url: string; local: boolean; stop(): Promise<void> }> {
  if (config.natsUrl) return { url: config.natsUrl, local: false, stop: async () => {} };
  const storeDir = resolve(cwd, config.stateDir, 'nats');
  const lock = await lockStore(storeDir, () => undefined);
  const server = await startLocalNats({ configFile: resolve(PACKAGE_ROOT, 'nats.conf'), storeDir }).catch(async (error: unknown) => {
    await lock.release();
    throw error;
  });
  await lock.publish(server.url);
  return {
    url: server.url,
    local: true,
    stop: async () => {
      await server.stop();
      await lock.release();
    },
  };
}
