import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { startLocalNats } from '../nats/local-server.ts';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The NATS this command talks to: NATS_URL (or config natsUrl) when set; otherwise a local
 * nats-server with the repository's nats.conf and the project's state folder, stopped on exit.
 */
export async function natsFor(config: Config, cwd: string): Promise<{ url: string; local: boolean; stop(): Promise<void> }> {
  if (config.natsUrl) return { url: config.natsUrl, local: false, stop: async () => {} };
  const server = await startLocalNats({
    configFile: resolve(PACKAGE_ROOT, 'nats.conf'),
    storeDir: resolve(cwd, config.stateDir, 'nats'),
  });
  return { url: server.url, local: true, stop: () => server.stop() };
}
