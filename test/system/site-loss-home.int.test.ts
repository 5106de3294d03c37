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
import { HOME_SITE } from '../../src/projections/sites.ts';

const server = natsPerSuite();
const ws = workspaces();
const { cli, site } = suiteSites(server);
afterAll(() => ws.cleanup());

describe('the only site lost mid-task', () => {
  it('routes its lost attempts home (the shared queue) as attempts of their own, and completes each task there exactly once', async () => {
    const open = await gate();
    const others = actorNames.filter((n) => n !== 'executor').map((n) => cli(['actor', n]));
    const doomed = (await site('only', 2)).process;
    const processes: ResultPromise[] = [...others, doomed];
    const rt = await testRuntime(server.url);
    const started = async () =>
      (await rt.store.read({ subject: eventSubjects.type('CommandStarted') })).filter(
        (e) => e.type === 'CommandStarted',
      );
    try {
      await waitForActors(
        server.url,
        actorNames.filter((n) => n !== 'executor'),
      );
      await expect
        .poll(async () => (await rt.store.read({ subject: eventSubjects.sites() })).length, { timeout: 60_000 })
        .toBeGreaterThan(0);
      // Two tasks at the site's two slots, waiting at the gate; `run` hosts the executor of the shared queue.
      const ids = [1, 2];
      const tasks = ids.map(
        (n) => `- [ ] ${n}. Task ${n}\n  - Depends:\n  \`\`\`bash\n  ${open.wait}; echo ${n} > ran-${n}.txt\n  \`\`\``,
      );
      const { dir, tasks: file } = await ws.make(tasks.join('\n'));
      const run = runCli(['run', file, '--workdir', dir, '--task-concurrency', '2'], { NATS_URL: server.url }, dir);
      await expect.poll(async () => (await started()).length, { timeout: 60_000 }).toBe(2);
      doomed.kill('SIGKILL');
      // No site is left: both attempts are lost and go home, where they wait at the gate too.
      await expect
        .poll(async () => (await started()).filter((e) => e.data.site === undefined).length, { timeout: 60_000 })
        .toBe(2);
      await open.open();
      const { result, events } = await run;
      expect(result.exitCode, result.stderr).toBe(0);
      for (const id of ids.map(String))
        expect(
          ofType(events, 'TaskRouted')
            .filter((e) => e.taskId === id)
            .map((e) => [e.data.site, e.data.attempt]),
        ).toEqual([
          ['only', 0],
          [HOME_SITE, 1],
        ]);
      expect(ofType(events, 'TaskAttemptLost').map((e) => e.data.attempt)).toEqual([0, 0]);
      expect(ofType(events, 'TaskFailed')).toEqual([]);
      // Each completed once, at home under attempt 1; home's commands carry their attempt.
      const completed = ofType(events, 'TaskCompleted');
      expect(completed.map((e) => e.taskId).sort()).toEqual(ids.map(String));
      for (const e of completed) expect(e.data.routeAttempt).toBe(1);
      for (const e of await started()) expect(e.data.routeAttempt).toBe(e.data.site === undefined ? 1 : 0);
      expect(Object.keys(await tree(dir)).sort()).toEqual([...ids.map((n) => `ran-${n}.txt`), 'tasks.md'].sort());
      for (const n of ids) expect(await readFile(join(dir, `ran-${n}.txt`), 'utf8')).toBe(`${n}\n`);
      expect(await readFile(file, 'utf8')).toBe(tasks.join('\n').replaceAll('- [ ]', '- [x]'));
    } finally {
      await open.open();
      // The dead site's commands (in process groups of their own) end at the gate; any left are ended here.
      endCommandGroups((await started()).filter((e) => e.type === 'CommandStarted' && e.data.site !== undefined));
      await rt.close();
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes);
      await open.remove();
    }
  }, 180_000);
});
