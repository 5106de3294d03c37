import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventSubjects } from '../../src/events/subjects.ts';
import { ofType, runCli } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { clone, committedTasks, independentTasks, startSite, stopSites, tempDirs, tree } from '../helpers/sites.ts';

const server = natsPerSuite();
const temp = tempDirs();
afterAll(() => temp.cleanup());

const TASKS = 30;
const list = independentTasks(TASKS, (i) => `echo "task ${i}" > t${i}.txt`);

/** A site that cannot see `hidden` (the user's clone's parent). */
const site = async (name: string, hidden: string) =>
  startSite({ name, url: server.url, hidden, dir: await temp.make(`ia-site-${name}-`) });

describe('sites materialise the project and change sets come home', () => {
  it('a run of 30 tasks over two sites that cannot see the clone leaves it as a one-site run does, one commit per task', async () => {
    const env = { NATS_URL: server.url };
    // The reference: the same list, run on this machine alone (no site up yet).
    const reference = await clone(await temp.make('ia-ref-'), list);
    const one = await runCli(['run', 'tasks.md'], env, reference);
    expect(one.result.exitCode, one.result.stderr).toBe(0);

    const home = await temp.make('ia-home-');
    const user = await clone(home, list);
    const sites = [await site('east', home), await site('west', home)];
    const rt = await testRuntime(server.url);
    try {
      await expect
        .poll(
          async () => new Set((await rt.store.read({ subject: eventSubjects.sites() })).map((e) => e.taskId)).size,
          {
            timeout: 60_000,
          },
        )
        .toBe(2);
      const { result, events } = await runCli(['run', 'tasks.md', '--commit'], env, user);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(TASKS);
      // Spread over both sites; each wrote in its own copy of the project, under its own state folder.
      const ranAt = new Set(ofType(events, 'CommandStarted').map((e) => e.data.site));
      expect([...ranAt].sort()).toEqual(['east', 'west']);
      const runId = events[0]!.runId;
      for (const s of sites) {
        const copy = await readdir(join(s.dir, '.implement-agent', 'projects', runId));
        expect(copy.filter((f) => /^t\d+\.txt$/.test(f)).length).toBeGreaterThan(0);
      }
      expect(await tree(user)).toEqual(await tree(reference));
      expect((await readFile(join(user, 'tasks.md'), 'utf8')).match(/- \[x\]/g)).toHaveLength(TASKS);
      expect(await committedTasks(user)).toEqual(Array.from({ length: TASKS }, (_, i) => String(i + 1)).sort());
    } finally {
      await rt.close();
      await stopSites(sites);
    }
  }, 400_000);

  it('a task at one site starts from the tree its dependency left at the other, and both change sets come home', async () => {
    const home = await temp.make('ia-home-');
    const user = await clone(home, list);
    await writeFile(
      join(user, 'tasks.md'),
      [
        '- [ ] 1. Write\n  - Site: east\n  ```bash\n  echo from-east > a.txt\n  ```',
        '- [ ] 2. Read\n  - Depends: 1\n  - Site: west\n  ```bash\n  cat a.txt > b.txt && echo at-west >> b.txt\n  ```',
      ].join('\n'),
    );
    const sites = [await site('east', home), await site('west', home)];
    try {
      const { result, events } = await runCli(['run', 'tasks.md'], { NATS_URL: server.url }, user);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'CommandStarted').map((e) => [e.taskId, e.data.site])).toEqual([
        ['1', 'east'],
        ['2', 'west'],
      ]);
      expect(await readFile(join(user, 'a.txt'), 'utf8')).toBe('from-east\n');
      expect(await readFile(join(user, 'b.txt'), 'utf8')).toBe('from-east\nat-west\n');
    } finally {
      await stopSites(sites);
    }
  }, 300_000);
});
