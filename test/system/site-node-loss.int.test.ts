import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSubjects } from '../../src/events/subjects.ts';
import { ofType, runCli } from '../helpers/cli.ts';
import { startTestCluster, type TestCluster } from '../helpers/nats-cluster.ts';
import type { NatsRuntime } from '../../src/host/runtime.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { clone, committedTasks, independentTasks, startSite, stopSites, tempDirs, tree } from '../helpers/sites.ts';

/**
 * Issue #40: a node of the three killed (kill -9) in the middle of a run over two sites. Opt-in
 * because it fails today: while the cluster elects a new leader the run's routing and the memory
 * actor get "jetstream is not enabled" and some change sets do not come home (docs/scaling.md).
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

describe('sites over a three-node cluster, a node lost', () => {
  it('a node killed (kill -9) mid-run loses no event: every task completes once, the tree and the commits as before', async () => {
    const [userNode, eastNode, westNode] = cluster.nodes;
    const config = join(await temp.make('ia-config-'), 'implement-agent.config.json');
    await writeFile(config, JSON.stringify(REPLICATED));
    const rt = await testRuntime(userNode!.url, REPLICATED);
    const home = await temp.make('ia-home-');
    const user = await clone(home, list);
    // West is told of east's node too, so that it carries on when its own is gone.
    const sites = [
      await startSite({
        name: 'east',
        url: eastNode!.url,
        hidden: home,
        dir: await temp.make('ia-site-east-'),
        config: REPLICATED,
      }),
      await startSite({
        name: 'west',
        url: `${westNode!.url},${eastNode!.url}`,
        hidden: home,
        dir: await temp.make('ia-site-west-'),
        config: REPLICATED,
      }),
    ];
    try {
      await expect.poll(() => beating(rt), { timeout: 60_000 }).toBe(2);
      const since = (await rt.store.read({ subject: eventSubjects.type('TaskCompleted') })).length;
      const run = runCli(['run', 'tasks.md', '--commit', '--config', config], { NATS_URL: userNode!.url }, user);
      await expect
        .poll(async () => (await rt.store.read({ subject: eventSubjects.type('TaskCompleted') })).length - since, {
          timeout: 120_000,
        })
        .toBeGreaterThanOrEqual(5);
      process.kill(westNode!.pid, 'SIGKILL');
      const { result, events } = await run;
      expect(result.exitCode, result.stderr).toBe(0);
      const completed = ofType(events, 'TaskCompleted').map((e) => e.taskId!);
      expect(completed.sort()).toEqual(Array.from({ length: TASKS }, (_, i) => String(i + 1)).sort());
      const stored = await rt.store.readRun(events[0]!.runId);
      expect(stored.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
      const files = await tree(user);
      expect(Object.keys(files).sort()).toEqual(
        ['.gitignore', 'README.md', 'tasks.md', ...Array.from({ length: TASKS }, (_, i) => `t${i + 1}.txt`)].sort(),
      );
      for (let i = 1; i <= TASKS; i++)
        expect(Buffer.from(files[`t${i}.txt`]!, 'base64').toString()).toBe(`task ${i}\n`);
      expect((await readFile(join(user, 'tasks.md'), 'utf8')).match(/- \[x\]/g)).toHaveLength(TASKS);
      expect(await committedTasks(user)).toEqual(Array.from({ length: TASKS }, (_, i) => String(i + 1)).sort());
    } finally {
      await rt.close();
      await stopSites(sites);
    }
  }, 600_000);
});
