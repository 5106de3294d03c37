import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { actorNames, eventSubjects } from '../../src/events/subjects.ts';
import { ofType, runCli, waitForActors, workspaces } from '../helpers/cli.ts';
import { gate } from '../helpers/outside.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { endCommandGroups, suiteSites, tree } from '../helpers/sites.ts';

const server = natsPerSuite();
const ws = workspaces();
const { cli, site } = suiteSites(server);
afterAll(() => ws.cleanup());

describe('a site lost mid-task', () => {
  it('records the lost attempts as infrastructure losses, runs them again at the other site from their base, and completes every task exactly once', async () => {
    const open = await gate();
    const others = actorNames.filter((n) => n !== 'executor').map((n) => cli(['actor', n]));
    const doomed = (await site('a-doomed', 2)).process;
    const processes: ResultPromise[] = [...others, doomed, (await site('b-ok', 2)).process];
    const rt = await testRuntime(server.url);
    const startedAt = async (name: string) =>
      (await rt.store.read({ subject: eventSubjects.type('CommandStarted') })).filter(
        (e) => e.type === 'CommandStarted' && e.data.site === name,
      );
    try {
      // A site's executor answers no executor ping (it takes no shared work): its heartbeats, polled below, say it is up.
      await waitForActors(
        server.url,
        actorNames.filter((n) => n !== 'executor'),
      );
      await expect
        .poll(
          async () => new Set((await rt.store.read({ subject: eventSubjects.sites() })).map((e) => e.taskId)).size,
          {
            timeout: 60_000,
          },
        )
        .toBe(2);
      // Four tasks over two sites of two slots each: each site gets two, and they wait at the gate.
      const ids = [1, 2, 3, 4];
      const tasks = ids.map(
        (n) => `- [ ] ${n}. Task ${n}\n  - Depends:\n  \`\`\`bash\n  ${open.wait}; echo ${n} > ran-${n}.txt\n  \`\`\``,
      );
      const { dir, tasks: file } = await ws.make(tasks.join('\n'));
      const run = runCli(['run', file, '--workdir', dir, '--task-concurrency', '4'], { NATS_URL: server.url }, dir);
      await expect.poll(async () => (await startedAt('a-doomed')).length, { timeout: 60_000 }).toBeGreaterThan(0);
      doomed.kill('SIGKILL');
      // Silent for three beats: its attempts are lost, and the tasks go to b-ok.
      await expect
        .poll(async () => (await rt.store.read({ subject: eventSubjects.type('TaskAttemptLost') })).length, {
          timeout: 60_000,
        })
        .toBeGreaterThan(0);
      await open.open();
      const { result, events } = await run;
      expect(result.exitCode, result.stderr).toBe(0);
      // Every task routed to the dead site is lost there, started or still in its queue.
      const lostAtA = new Set(
        ofType(events, 'TaskRouted')
          .filter((e) => e.data.site === 'a-doomed')
          .map((e) => e.taskId),
      );
      expect(lostAtA.size).toBe(2);
      for (const e of await startedAt('a-doomed')) expect(lostAtA).toContain(e.taskId);
      const lost = ofType(events, 'TaskAttemptLost');
      expect(new Set(lost.map((e) => e.taskId))).toEqual(lostAtA);
      for (const e of lost) expect(e.data).toEqual({ site: 'a-doomed', attempt: 0, reason: 'site-dead' });
      // Each lost task ran again at b-ok under attempt 1; none failed; each completed once.
      for (const id of lostAtA)
        expect(
          ofType(events, 'TaskRouted')
            .filter((e) => e.taskId === id)
            .map((e) => [e.data.site, e.data.attempt]),
        ).toEqual([
          ['a-doomed', 0],
          ['b-ok', 1],
        ]);
      expect(ofType(events, 'TaskFailed')).toEqual([]);
      const completed = ofType(events, 'TaskCompleted').map((e) => e.taskId);
      expect(completed.sort()).toEqual(ids.map(String));
      for (const e of ofType(events, 'TaskCompleted')) expect(e.data.routeAttempt).toBe(lostAtA.has(e.taskId) ? 1 : 0);
      // The tree a one-site run of the list leaves: each task's file once, every box ticked, nothing else.
      expect(Object.keys(await tree(dir)).sort()).toEqual([...ids.map((n) => `ran-${n}.txt`), 'tasks.md'].sort());
      for (const n of ids) expect(await readFile(join(dir, `ran-${n}.txt`), 'utf8')).toBe(`${n}\n`);
      expect(await readFile(file, 'utf8')).toBe(tasks.join('\n').replaceAll('- [ ]', '- [x]'));
    } finally {
      await open.open();
      // The dead site's commands (in process groups of their own) end at the gate; any left are ended here.
      endCommandGroups(await startedAt('a-doomed'));
      await rt.close();
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes);
      await open.remove();
    }
  }, 180_000);
});
