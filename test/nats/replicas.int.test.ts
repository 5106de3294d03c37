import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type ConfigOverrides } from '../../src/config.ts';
import { EVENTS_STREAM } from '../../src/events/subjects.ts';
import { openRuntime, type NatsRuntime } from '../../src/host/runtime.ts';
import { clusterSize, replicasFor } from '../../src/nats/replicas.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { startTestCluster, type TestCluster } from '../helpers/nats-cluster.ts';

/** Issue #40: natsReplicas unset follows the cluster the server is in; set, it wins. */
let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});
const single = natsPerSuite();

/** A runtime whose warnings are kept, with `flags` as the config. */
async function open(url: string, flags: ConfigOverrides): Promise<{ rt: NatsRuntime; warnings: string[] }> {
  const warnings: string[] = [];
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', flags, env: {} });
  const log = { info: () => {}, warn: (m: string) => void warnings.push(m), error: () => {} };
  return { rt: await openRuntime(url, config, 'replicas-test', log), warnings };
}

/** Each of the account's streams with its replicas. */
async function replicasOf(rt: NatsRuntime): Promise<Record<string, number | undefined>> {
  const streams = await (await jetstreamManager(rt.nc)).streams.list().next();
  return Object.fromEntries(streams.map((s) => [s.config.name, s.config.num_replicas]));
}

describe('stream replicas', () => {
  it("unset: the server's INFO tells a cluster of three, and every stream and bucket is made on three replicas; outside a cluster on one", async () => {
    const { rt } = await open(cluster.nodes[1]!.url, {});
    try {
      expect(clusterSize(rt.nc.info)).toBe(3);
      await rt.contents.put('0'.repeat(64), new Uint8Array());
      const made = await replicasOf(rt);
      expect(Object.keys(made)).toEqual(expect.arrayContaining([EVENTS_STREAM, 'AGENT_WORK', 'OBJ_agent_contents']));
      for (const [name, n] of Object.entries(made)) expect([name, n]).toEqual([name, 3]);
      const jsm = await jetstreamManager(rt.nc);
      for (const name of Object.keys(made)) await jsm.streams.delete(name);
    } finally {
      await rt.close();
    }
    const alone = await open(single.url, {});
    try {
      expect(clusterSize(alone.rt.nc.info)).toBe(1);
      expect((await replicasOf(alone.rt))[EVENTS_STREAM]).toBe(1);
    } finally {
      await alone.rt.close();
    }
  }, 120_000);

  it('set, the setting wins; a stream already on fewer replicas than wanted is said, naming it and the setting', async () => {
    const one = await open(cluster.nodes[0]!.url, { natsReplicas: 1 });
    await one.rt.close();
    expect(one.warnings).toEqual([]);
    const unset = await open(cluster.nodes[0]!.url, {});
    try {
      expect((await replicasOf(unset.rt))[EVENTS_STREAM]).toBe(1);
      expect(unset.warnings.find((w) => w.includes(`stream ${EVENTS_STREAM} `))).toMatch(
        /keeps 1 replica\(s\), but natsReplicas is not set, so 3 .*--replicas 3/,
      );
      expect(unset.warnings.some((w) => w.includes('stream AGENT_WORK '))).toBe(true);
    } finally {
      await unset.rt.close();
    }
    const two = await open(cluster.nodes[0]!.url, { natsReplicas: 2 });
    await two.rt.close();
    expect(two.warnings.find((w) => w.includes(`stream ${EVENTS_STREAM} `))).toMatch(/but natsReplicas is 2/);
  }, 120_000);
});

describe('the replicas wanted', () => {
  it('min(3, cluster size) when unset; a setting wins; a server without a cluster or with no URLs to tell counts as one', () => {
    const info = (n: number) => ({ cluster: 'c', connect_urls: Array.from({ length: n }, (_, i) => `h:${i}`) });
    expect([1, 2, 3, 5].map((n) => replicasFor(undefined, info(n)))).toEqual([1, 2, 3, 3]);
    expect(replicasFor(1, info(3))).toBe(1);
    expect(replicasFor(5, info(3))).toBe(5);
    expect(clusterSize({ connect_urls: ['h:1', 'h:2'] })).toBe(1);
    expect(clusterSize({ cluster: 'c' })).toBe(1);
    expect(clusterSize(undefined)).toBe(1);
  });
});
