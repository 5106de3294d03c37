import { loadConfig, type ConfigOverrides } from '../../src/config.ts';
import { Background, openRuntime, type NatsRuntime } from '../../src/host/runtime.ts';
import type { Runtime } from '../../src/actors/actor.ts';
import { MemoryContents, MemoryOutputs, MemoryRequests, MemoryWorkQueue } from '../../src/events/memory-bus.ts';
import { MemoryEventLog } from '../../src/events/memory-event-log.ts';
import { MemorySnapshots } from '../../src/projections/snapshots.ts';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

export async function testRuntime(url: string, flags: ConfigOverrides = {}): Promise<NatsRuntime> {
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', flags, env: {} });
  return openRuntime(url, config, 'test', silent);
}

/**
 * A runtime wholly in memory (event log, snapshots, work queue, requests, outputs): every host
 * runs on it as on NATS, without a server. What only NATS shows (redelivery after a crash of the
 * process, a server restart, permissions) stays in the NATS-backed tests.
 */
export async function memoryRuntime(flags: ConfigOverrides = {}): Promise<Runtime> {
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', flags, env: {} });
  const background = new Background();
  return {
    store: new MemoryEventLog(),
    snapshots: new MemorySnapshots(),
    work: new MemoryWorkQueue(),
    requests: new MemoryRequests(),
    outputs: new MemoryOutputs(),
    contents: new MemoryContents(),
    config,
    log: silent,
    background,
    close: () => background.settled(),
  };
}
