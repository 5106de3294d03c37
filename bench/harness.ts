import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostActors } from '../src/host/hosts.ts';
import { openRuntime } from '../src/host/runtime.ts';
import type { Runtime } from '../src/actors/actor.ts';
import { loadConfig, type ConfigOverrides } from '../src/config.ts';
import { startLocalNats, type LocalNats } from '../src/nats/local-server.ts';
import type { ReplacedActors } from '../src/host/hosts.ts';

export const ROOT = resolve(import.meta.dirname, '..');
const silent = { info: () => {}, warn: () => {}, error: () => {} };

/** A fresh nats-server (its own temporary store) for one measured configuration. */
export async function freshNats(): Promise<LocalNats & { cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-bench-'));
  const server = await startLocalNats({ configFile: join(ROOT, 'nats.conf'), storeDir: join(dir, 'store') });
  return {
    ...server,
    cleanup: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function benchRuntime(url: string, flags: ConfigOverrides = {}): Promise<Runtime> {
  const config = await loadConfig({ cwd: '/nonexistent', flags, env: {} });
  return openRuntime(url, config, 'bench', silent);
}

/** A runtime with every actor hosted in this process. */
export async function withActors<T>(
  url: string,
  flags: ConfigOverrides,
  actors: () => ReplacedActors,
  body: (rt: Runtime) => Promise<T>,
): Promise<T> {
  const rt = await benchRuntime(url, flags);
  const hosted = await hostActors(rt, undefined, actors());
  try {
    return await body(rt);
  } finally {
    await hosted.stop();
    await rt.close();
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
export const ms = (n: number) => `${fmt(n, n < 10 ? 2 : 0)} ms`;
