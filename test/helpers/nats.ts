import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startLocalNats, type LocalNats } from '../../src/nats/local-server.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** A real nats-server on random loopback ports with a temporary store, removed on stop. */
export async function startTestNats(
  options: { port?: number; dir?: string; keep?: boolean } = {},
): Promise<LocalNats & { dir: string }> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'ia-nats-')));
  const server = await startLocalNats({
    configFile: join(REPO_ROOT, 'nats.conf'),
    storeDir: join(dir, 'store'),
    ...(options.port ? { port: options.port } : {}),
  });
  return {
    ...server,
    dir,
    stop: async () => {
      await server.stop();
      if (!options.keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One nats-server for the whole test file, started before and stopped after it. */
export function natsPerSuite(): { readonly url: string } {
  let server: Awaited<ReturnType<typeof startTestNats>> | undefined;
  beforeAll(async () => {
    server = await startTestNats();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get url() {
      if (!server) throw new Error('the suite nats-server is not running');
      return server.url;
    },
  };
}
