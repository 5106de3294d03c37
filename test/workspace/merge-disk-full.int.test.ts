import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MergeError } from '../../src/errors.ts';
import { mergeSteps, serialized } from '../../src/workspace/merge.ts';
import { viewChanges } from '../../src/workspace/view-changes.ts';
import { discardView, openView, type View } from '../../src/workspace/view.ts';
import { CLI, ofType, runCli, workspaces } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { canMountTmpfs, tmpfsMounts } from '../helpers/tmpfs.ts';

/**
 * A merge that runs out of space half way (#36): the project is a small tmpfs and the views lie
 * on another filesystem, so each file of the change set is copied in. Nothing of the task lands,
 * the task fails naming the reason, and once space is back the same change set merges whole.
 */
const nats = natsPerSuite();
const ws = workspaces();
const tmpfs = tmpfsMounts();
const dirs: string[] = [];
const views: View[] = [];
afterEach(async () => {
  await Promise.all(views.splice(0).map((v) => v.close()));
});
afterAll(async () => {
  await ws.cleanup();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const mountable = await canMountTmpfs();

/** A 1 MiB project folder of its own (a tmpfs), filled to 600 KB; the state folder in /tmp. */
async function smallDisk(tasks = '') {
  const { dir } = await ws.make('');
  await tmpfs.mount(dir, '1m');
  await writeFile(join(dir, 'tasks.md'), tasks);
  await writeFile(join(dir, 'a.txt'), 'before\n');
  await writeFile(join(dir, 'filler'), Buffer.alloc(600_000));
  const stateDir = await mkdtemp(join(tmpdir(), 'ia-state-'));
  dirs.push(stateDir);
  return { dir, stateDir };
}

/** What the folder holds: names and contents of its small files. */
const holds = async (dir: string) =>
  Object.fromEntries(
    await Promise.all(
      (await readdir(dir, { recursive: true })).sort().map(async (name) => {
        const info = await stat(join(dir, name));
        const text = info.isFile() && info.size < 1000 ? await readFile(join(dir, name), 'utf8') : info.size;
        return [name, info.isDirectory() ? 'dir' : text] as const;
      }),
    ),
  );

describe.skipIf(!mountable)('a merge into a full disk', () => {
  it('applies nothing, names the path and the reason, and merges whole once space is back', async () => {
    const { dir, stateDir } = await smallDisk();
    const before = await holds(dir);
    const viewDir = join(stateDir, 'views', 'r', '1');
    const view = await openView(dir, viewDir);
    views.push(view);
    // A file changed, one in a new folder, then one too big for what is left (copied last).
    const script = 'echo after > a.txt; mkdir -p new/deep; echo n > new/deep/n.txt; head -c 500000 /dev/zero > z.bin';
    await execa(view.enter[0]!, [...view.enter.slice(1), 'sh', '-c', script]);
    const { steps } = viewChanges(view, [], 1 << 20);
    const merge = () =>
      serialized(dir, () => mergeSteps(dir, steps, { startedNs: view.startedNs, since: 0, who: 'task 1' }));

    const error = await merge().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MergeError);
    expect((error as MergeError).message).toBe(
      `task 1's changes could not be merged into ${dir}: z.bin: its disk is full (ENOSPC); nothing of it was applied`,
    );
    // As it was: a.txt unchanged, no new folder, no copy left beside a target.
    expect(await holds(dir)).toEqual(before);

    await rm(join(dir, 'filler'));
    const merged = await merge();
    expect(merged).toMatchObject({ merged: true, paths: ['a.txt', 'new', 'z.bin'] });
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('after\n');
    expect(await readFile(join(dir, 'new', 'deep', 'n.txt'), 'utf8')).toBe('n\n');
    expect((await stat(join(dir, 'z.bin'))).size).toBe(500_000);
    await view.close();
    await discardView(viewDir);
  });

  it('the task fails naming the full disk, leaves the folder as it was, and the list run again merges it once space is back', async () => {
    const tasks = '- [ ] 1. Grow\n  ```bash\n  echo after > a.txt; head -c 500000 /dev/zero > z.bin\n  ```\n';
    const { dir, stateDir } = await smallDisk(tasks);
    await writeFile(join(dir, 'implement-agent.config.json'), JSON.stringify({ stateDir }));
    const before = await holds(dir);
    const { result, events } = await runCli(['run', 'tasks.md'], { NATS_URL: nats.url, NO_COLOR: '1' }, dir);
    expect(result.exitCode, result.stderr).toBe(1);
    const [failed] = ofType(events, 'TaskFailed');
    expect(failed!.data.reason).toContain(`z.bin: its disk is full (ENOSPC); nothing of it was applied`);
    expect(ofType(events, 'TaskCompleted')).toEqual([]);
    expect(await holds(dir)).toEqual(before);

    // The run is over (failed); its box is not ticked, so running the list again runs the task.
    await rm(join(dir, 'filler'));
    const again = await runCli(['run', 'tasks.md'], { NATS_URL: nats.url, NO_COLOR: '1' }, dir);
    expect(again.result.exitCode, again.result.stderr).toBe(0);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('after\n');
    expect((await stat(join(dir, 'z.bin'))).size).toBe(500_000);
    expect(await readFile(join(dir, 'tasks.md'), 'utf8')).toContain('- [x] 1. Grow');
  });

  it('`resume` of the run, once space is back, runs the task again: its files land once, the box is ticked, status and report say completed', async () => {
    // Task 2 writes beside it and merges; task 1's line in log.txt tells how many times its change set landed.
    const tasks =
      '- [ ] 1. Grow\n  ```bash\n  echo once >> log.txt; head -c 500000 /dev/zero > z.bin\n  ```\n' +
      '- [ ] 2. Note\n  - Depends: none\n  ```bash\n  echo note > note.txt\n  ```\n' +
      '- [ ] 3. Use\n  - Depends: 1\n  ```bash\n  cp log.txt used.txt\n  ```\n';
    const { dir, stateDir } = await smallDisk(tasks);
    await writeFile(join(dir, 'implement-agent.config.json'), JSON.stringify({ stateDir }));
    const env = { NATS_URL: nats.url, NO_COLOR: '1' };
    const first = await runCli(['run', 'tasks.md'], env, dir);
    expect(first.result.exitCode, first.result.stderr).toBe(1);
    const [failed] = ofType(first.events, 'TaskFailed');
    expect(failed).toMatchObject({ taskId: '1', data: { stage: 'merge' } });
    expect(failed!.data.reason).toContain('z.bin: its disk is full (ENOSPC); nothing of it was applied');
    const runId = failed!.runId;
    expect(ofType(first.events, 'TaskSkipped').map((e) => e.taskId)).toEqual(['3']);
    expect(await readFile(join(dir, 'note.txt'), 'utf8')).toBe('note\n');
    expect(await stat(join(dir, 'log.txt')).catch(() => undefined)).toBeUndefined();

    await rm(join(dir, 'filler'));
    const resumed = await runCli(['resume', runId], env, dir);
    expect(resumed.result.exitCode, resumed.result.stderr).toBe(0);
    // With it, its dependant that was skipped: the run ends with every task done.
    expect(ofType(resumed.events, 'TaskReopened').map((e) => e.taskId)).toEqual(['1', '3']);
    const finishes = ofType(resumed.events, 'RunFinished');
    expect(finishes.map((e) => e.data.status)).toEqual(['succeeded']);
    expect(finishes[0]!.data.completed.sort()).toEqual(['1', '2', '3']);
    expect(await readFile(join(dir, 'used.txt'), 'utf8')).toBe('once\n');
    // Task 2 did not run again; task 1's change set landed exactly once.
    expect(ofType(resumed.events, 'CommandStarted').filter((e) => e.taskId === '2')).toHaveLength(1);
    expect(await readFile(join(dir, 'log.txt'), 'utf8')).toBe('once\n');
    expect((await stat(join(dir, 'z.bin'))).size).toBe(500_000);
    expect(await readFile(join(dir, 'tasks.md'), 'utf8')).toContain('- [x] 1. Grow');

    // One outcome per task, the same in `status` and in `report`.
    const status = await execa(process.execPath, [CLI, 'status', runId, '--json'], { cwd: dir, env, reject: false });
    expect(status.exitCode, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout) as {
      state: string;
      completed: number;
      failed: number;
      tasks: { id: string; state: string }[];
    };
    expect(shown).toMatchObject({ state: 'succeeded', completed: 3, failed: 0 });
    expect(shown.tasks.map((t) => [t.id, t.state])).toEqual([
      ['1', 'completed'],
      ['2', 'completed'],
      ['3', 'completed'],
    ]);
    const report = await execa(process.execPath, [CLI, 'report', runId, '--out', join(stateDir, 'report.html')], {
      cwd: dir,
      env,
      reject: false,
    });
    expect(report.exitCode, report.stderr).toBe(0);
    const html = await readFile(join(stateDir, 'report.html'), 'utf8');
    expect(html).toContain('succeeded');
    expect(html).not.toContain('<li><b>1. Grow');
  });
});
