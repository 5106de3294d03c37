import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSubjects } from '../../src/events/subjects.ts';
import { ofType, runCli } from '../helpers/cli.ts';
import { startTestCluster, type TestCluster } from '../helpers/nats-cluster.ts';
import type { NatsRuntime } from '../../src/host/runtime.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { clone, committedTasks, independentTasks, startSite, stopSites, tempDirs, tree } from '../helpers/sites.ts';

/**
 * Issue #40's first "done when": a three-node JetStream cluster on loopback, the user's clone
 * connected to one node and each of two sites (that cannot see the clone) to another.
 */
let cluster: TestCluster;
const temp = tempDirs();
beforeAll(async () => {
  cluster = await startTestCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  await temp.cleanup();
});

const TASKS = 30;
const list = independentTasks(TASKS, (i) => `echo "task ${i}" > t${i}.txt`);
/** How many sites have announced themselves. */
const beating = async (rt: NatsRuntime) =>
  new Set((await rt.store.read({ subject: eventSubjects.sites() })).map((e) => e.taskId)).size;
/** Every process of the run keeps its streams and buckets on all three nodes. */
const REPLICATED = { natsReplicas: 3 } as const;

describe('sites over a three-node cluster', () => {
  it('30 tasks from a clone on one node spread over two sites on the others, leave the tree a one-site run leaves, one commit per task, every event on three replicas', async () => {
    const [userNode, eastNode, westNode] = cluster.nodes.map((n) => n.url);
    // Outside the clones, so the trees compared are the project's alone.
    const config = join(await temp.make('ia-config-'), 'implement-agent.config.json');
    await writeFile(config, JSON.stringify(REPLICATED));
    // Made first, with three replicas: the log, the work queue and the snapshots.
    const rt = await testRuntime(userNode!, REPLICATED);
    const env = { NATS_URL: userNode! };
    const reference = await clone(await temp.make('ia-ref-'), list);
    const one = await runCli(['run', 'tasks.md', '--config', config], env, reference);
    expect(one.result.exitCode, one.result.stderr).toBe(0);

    const home = await temp.make('ia-home-');
    const user = await clone(home, list);
    const sites = [
      await startSite({
        name: 'east',
        url: eastNode!,
        hidden: home,
        dir: await temp.make('ia-site-east-'),
        config: REPLICATED,
      }),
      await startSite({
        name: 'west',
        url: westNode!,
        hidden: home,
        dir: await temp.make('ia-site-west-'),
        config: REPLICATED,
      }),
    ];
    try {
      await expect.poll(() => beating(rt), { timeout: 60_000 }).toBe(2);
      const { result, events } = await runCli(['run', 'tasks.md', '--commit', '--config', config], env, user);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(TASKS);
      const routed = ofType(events, 'TaskRouted');
      expect(new Set(routed.map((e) => e.taskId)).size).toBe(TASKS);
      expect(new Set(routed.map((e) => e.data.site))).toEqual(new Set(['east', 'west']));
      expect(new Set(ofType(events, 'CommandStarted').map((e) => e.data.site))).toEqual(new Set(['east', 'west']));
      expect(await tree(user)).toEqual(await tree(reference));
      expect((await readFile(join(user, 'tasks.md'), 'utf8')).match(/- \[x\]/g)).toHaveLength(TASKS);
      expect(await committedTasks(user)).toEqual(Array.from({ length: TASKS }, (_, i) => String(i + 1)).sort());
      // Every event the run printed is stored, once, and the stream keeps three copies of it.
      const stored = await rt.store.readRun(events[0]!.runId);
      expect(stored.map((e) => e.id)).toEqual(events.map((e) => e.id));
      // Every stream (the log, the work queue, the buckets the run made) on all three nodes.
      const streams = await (await jetstreamManager(rt.nc)).streams.list().next();
      expect(streams.map((s) => s.config.name)).toContain('AGENT_EVENTS');
      for (const s of streams) expect([s.config.name, s.config.num_replicas]).toEqual([s.config.name, 3]);
    } finally {
      await rt.close();
      await stopSites(sites);
    }
  }, 600_000);
});
