import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeSteps, serialized } from '../../src/workspace/merge.ts';
import { viewChanges } from '../../src/workspace/view-changes.ts';
import { openView } from '../../src/workspace/view.ts';

/**
 * Merges into one working directory from executors in separate processes (several under `up`)
 * happen one at a time, under a lock named after the state folder that the OS releases when its holder dies;
 * a conflict with another process's merge names its run.
 */
const WORKER = join(import.meta.dirname, '..', 'helpers', 'merge-worker.ts');
const dirs: string[] = [];
const started: ResultPromise[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function project() {
  const dir = await mkdtemp(join(tmpdir(), 'ia-merge-lock-'));
  dirs.push(dir);
  const [workdir, stateDir] = [join(dir, 'w'), join(dir, 'state')];
  await mkdir(workdir);
  await mkdir(stateDir);
  return { workdir, stateDir };
}

const worker = (workdir: string, stateDir: string, name: string, mode: string) => {
  const p = execa(process.execPath, ['--import', 'tsx', WORKER, workdir, stateDir, name, mode], { reject: false });
  started.push(p);
  return p;
};

const said = (p: ResultPromise, line: string) =>
  new Promise<void>((resolve) => {
    let out = '';
    p.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes(line)) resolve();
    });
  });

describe('merges across executor processes', () => {
  it('two processes merging into one folder at once never hold the lock together, and every file lands', async () => {
    const { workdir, stateDir } = await project();
    const [a, b] = await Promise.all([worker(workdir, stateDir, 'a', '25'), worker(workdir, stateDir, 'b', '25')]);
    // A second holder inside would fail its O_EXCL marker (EEXIST) and exit non-zero.
    expect([a.exitCode, a.stderr, b.exitCode, b.stderr]).toEqual([0, '', 0, '']);
    expect((await readdir(workdir)).length).toBe(50);
  });

  it('a holder that dies releases the lock: the other process merges after it', async () => {
    const { workdir, stateDir } = await project();
    const holder = worker(workdir, stateDir, 'a', 'hold');
    await said(holder, 'inside');
    const waiting = worker(workdir, stateDir, 'b', '1');
    process.kill(holder.pid!, 'SIGKILL');
    await holder;
    const b = await waiting;
    expect([b.exitCode, b.stderr, b.stdout.trim()]).toEqual([0, '', 'done']);
    expect(await readdir(workdir)).toEqual(['b-0.txt']);
  });

  it('names a path merged meanwhile by another process with its run, and one changed by no task as "not a task"', async () => {
    const { workdir, stateDir } = await project();
    await writeFile(join(workdir, 'b.txt'), 'b\n');
    const view = await openView(workdir, join(stateDir, 'views', 'mine', '1'));
    try {
      await writeFile(join(view.root, 'other-0.txt'), 'mine\n');
      await writeFile(join(view.root, 'b.txt'), 'mine\n');
      const { steps } = viewChanges(view, [], 1 << 20);
      // Another run, in a process of its own, merges the file this view also made; a hand edit changes the other.
      const other = await worker(workdir, stateDir, 'other', '1');
      expect([other.exitCode, other.stderr]).toEqual([0, '']);
      await writeFile(join(workdir, 'b.txt'), 'by hand\n');
      const mine = { startedNs: view.startedNs, since: 0, who: 'task 1', runId: 'mine', stateDir };
      const outcome = await serialized(workdir, () => mergeSteps(workdir, steps, mine), stateDir);
      expect(outcome).toEqual({
        merged: false,
        conflicts: [
          { path: 'b.txt', by: 'not a task' },
          { path: 'other-0.txt', by: 'another run (other)' },
        ],
      });
      expect(await readFile(join(workdir, 'other-0.txt'), 'utf8')).toBe('other 0\n');
    } finally {
      await view.close();
    }
  });
});
