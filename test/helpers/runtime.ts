import { loadConfig, type ConfigOverrides } from '../../src/config.ts';
import { Background, openRuntime, type Runtime } from '../../src/actors/runtime.ts';
import { MemoryEventLog } from '../../src/events/memory-event-log.ts';
import { MemorySnapshots } from '../../src/projections/snapshots.ts';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

export async function testRuntime(url: string, flags: ConfigOverrides = {}): Promise<Runtime> {
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', flags, env: {} });
  return openRuntime(url, config, 'test', silent);
}

/**
 * A runtime on the in-memory event log and snapshots: for host logic that needs only the log,
 * the snapshots and the config. Anything that reaches for NATS itself fails loudly.
 */
export async function memoryRuntime(flags: ConfigOverrides = {}): Promise<Runtime> {
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', flags, env: {} });
  const noNats = new Proxy({}, {
    get: (_, property) => {
      throw new Error(`the memory runtime has no NATS connection (${String(property)})`);
    },
  });
  return { nc: noNats as Runtime['nc'], js: noNats as Runtime['js'], store: new MemoryEventLog(), snapshots: new MemorySnapshots(), config, log: silent, background: new Background() };
}
