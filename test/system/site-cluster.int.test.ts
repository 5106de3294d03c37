import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { ofType, runCli } from '../helpers/cli.ts';
import { clusterPerSuite, list, TASKS, taskIds, twoSites, userSide } from '../helpers/site-cluster.ts';
import { clone, committedTasks, tree } from '../helpers/sites.ts';

/**
 * Issue #40's first "done when": a three-node JetStream cluster on loopback, the user's clone
 * connected to one node and each of two sites (that cannot see the clone) to another. No
 * process is told natsReplicas: each makes its streams on as many replicas as the cluster has nodes.
 */
const suite = clusterPerSuite();

describe('sites over a three-node cluster', () => {
  it('30 tasks from a clone on one node spread over two sites on the others, leave the tree a one-site run leaves, one commit per task, every event on three replicas', async () => {
    const [userNode, eastNode, westNode] = suite.cluster.nodes.map((n) => n.url);
    const { config, rt } = await userSide(suite.temp, userNode!);
    const env = { NATS_URL: userNode! };
    const reference = await clone(await suite.temp.make('ia-ref-'), list);
    const one = await runCli(['run', 'tasks.md', '--config', config], env, reference);
    expect(one.result.exitCode, one.result.stderr).toBe(0);

    const { user, stop } = await twoSites(suite.temp, rt, { east: eastNode!, west: westNode! });
    try {
      const { result, events } = await runCli(['run', 'tasks.md', '--commit', '--config', config], env, user);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(TASKS);
      const routed = ofType(events, 'TaskRouted');
      expect(new Set(routed.map((e) => e.taskId)).size).toBe(TASKS);
      expect(new Set(routed.map((e) => e.data.site))).toEqual(new Set(['east', 'west']));
      expect(new Set(ofType(events, 'CommandStarted').map((e) => e.data.site))).toEqual(new Set(['east', 'west']));
      expect(await tree(user)).toEqual(await tree(reference));
      expect((await readFile(join(user, 'tasks.md'), 'utf8')).match(/- \[x\]/g)).toHaveLength(TASKS);
      expect(await committedTasks(user)).toEqual(taskIds());
      // Every event the run printed is stored, once, and the stream keeps three copies of it.
      const stored = await rt.store.readRun(events[0]!.runId);
      expect(stored.map((e) => e.id)).toEqual(events.map((e) => e.id));
      // Every stream (the log, the work queue, the buckets the run made) on all three nodes.
      const streams = await (await jetstreamManager(rt.nc)).streams.list().next();
      expect(streams.map((s) => s.config.name)).toContain('AGENT_EVENTS');
      for (const s of streams) expect([s.config.name, s.config.num_replicas]).toEqual([s.config.name, 3]);
    } finally {
      await rt.close();
      await stop();
    }
  }, 600_000);
});
