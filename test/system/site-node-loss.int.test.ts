import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventSubjects } from '../../src/events/subjects.ts';
import { attemptView } from '../../src/projections/attempts.ts';
import { ofType, runCli } from '../helpers/cli.ts';
import { clusterPerSuite, TASKS, taskIds, twoSites, userSide } from '../helpers/site-cluster.ts';
import { committedTasks, tree } from '../helpers/sites.ts';

/**
 * Issue #40: a node of the three killed (kill -9) in the middle of a run over two sites, no
 * process told natsReplicas (three, from the cluster). Its streams' leaders are elected again;
 * sites' beats may stall meanwhile, so some attempts may be taken for lost and run again.
 */
const suite = clusterPerSuite();

describe('sites over a three-node cluster, a node lost', () => {
  it('a node killed (kill -9) mid-run loses no event: every task completes once, the tree and the commits as before', async () => {
    const [userNode, eastNode, westNode] = suite.cluster.nodes;
    const { config, rt } = await userSide(suite.temp, userNode!.url);
    // West is told of east's node too, so that it carries on when its own is gone.
    const s = await twoSites(suite.temp, rt, { east: eastNode!.url, west: `${westNode!.url},${eastNode!.url}` });
    try {
      const completed = async () => (await rt.store.read({ subject: eventSubjects.type('TaskCompleted') })).length;
      const run = runCli(['run', 'tasks.md', '--commit', '--config', config], { NATS_URL: userNode!.url }, s.user);
      await expect.poll(completed, { timeout: 120_000 }).toBeGreaterThanOrEqual(5);
      process.kill(westNode!.pid, 'SIGKILL');
      const { result, events } = await run;
      expect(result.exitCode, result.stderr).toBe(0);
      // Each task's outcome as the run counts it (src/projections/attempts.ts) is one completion; a
      // lost attempt that completes late is recorded under its old attempt, recorded as lost.
      const counted = taskIds().map((id) => attemptView(events.filter((e) => e.taskId === id)).outcome);
      expect(counted.map((e) => [e?.taskId, e?.type])).toEqual(taskIds().map((id) => [id, 'TaskCompleted']));
      const lost = ofType(events, 'TaskAttemptLost');
      for (const late of ofType(events, 'TaskCompleted').filter((e) => !counted.includes(e)))
        expect(lost.filter((l) => l.taskId === late.taskId).map((l) => l.data.attempt)).toContain(
          late.data.routeAttempt,
        );
      const stored = await rt.store.readRun(events[0]!.runId);
      expect(stored.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
      const files = await tree(s.user);
      expect(Object.keys(files).sort()).toEqual(
        ['.gitignore', 'README.md', 'tasks.md', ...Array.from({ length: TASKS }, (_, i) => `t${i + 1}.txt`)].sort(),
      );
      for (let i = 1; i <= TASKS; i++)
        expect(Buffer.from(files[`t${i}.txt`]!, 'base64').toString()).toBe(`task ${i}\n`);
      expect((await readFile(join(s.user, 'tasks.md'), 'utf8')).match(/- \[x\]/g)).toHaveLength(TASKS);
      expect(await committedTasks(s.user)).toEqual(taskIds());
    } finally {
      await rt.close();
      await s.stop();
    }
  }, 600_000);
});
