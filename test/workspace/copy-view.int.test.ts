import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { childEnvironment } from '../../src/exec/child-env.ts';
import { runConfined } from '../../src/exec/confined-run.ts';
import { mergeSteps, serialized } from '../../src/workspace/merge.ts';
import { openCopyView } from '../../src/workspace/copy-view.ts';
import type { View } from '../../src/workspace/view.ts';
import { confinedRunner } from '../helpers/confined.ts';

/**
 * A task's copy of the folder (the fallback where no overlay can be had), with real bubblewrap
 * binding it at the folder's path, in a folder whose path holds a comma (which no overlay can
 * take): what a command writes lands in the copy only, its change set is what differs from the
 * manifest, and its merge applies exactly that.
 */
const dirs: string[] = [];
const sandbox = await confinedRunner({ sandbox: { mode: 'bwrap', network: 'none' } });
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
afterAll(() => sandbox.cleanup());

const limits = { maxFiles: 100, maxBytes: 1 << 20 };

async function project() {
  const dir = await mkdtemp(join(tmpdir(), 'ia,copy-'));
  dirs.push(dir);
  const w = join(dir, 'w');
  await mkdir(join(w, 'lib'), { recursive: true });
  await mkdir(join(w, 'node_modules', 'dep'), { recursive: true });
  await mkdir(join(w, '.git'));
  await writeFile(join(w, 'a.txt'), 'a\n');
  await writeFile(join(w, 'gone.txt'), 'gone\n');
  await writeFile(join(w, 'run.sh'), 'echo hi\n');
  await writeFile(join(w, 'lib', 'm.js'), 'm\n');
  await writeFile(join(w, 'node_modules', 'dep', 'index.js'), 'dep\n');
  await writeFile(join(w, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return { w, views: join(dir, 'state', 'views') };
}

/** One command as the executor runs it in a task's copy: bubblewrap binds the copy at the folder's path. */
async function runIn(view: View, command: string) {
  const result = await runConfined(
    command,
    sandbox.confinement,
    sandbox.config.execution.limits,
    { cwd: view.workdir, env: childEnvironment().env, timeoutMs: 60_000, tailChars: 4000, keepBytes: 100_000 },
    view,
  );
  expect(result.exitCode, result.stderrTail).toBe(0);
}

describe("a task's copy of the folder", () => {
  it('takes what the command writes, deletes, chmods and links; the folder is untouched until the merge', async () => {
    const { w, views } = await project();
    const view = await openCopyView(w, join(views, 'r', '1'), {
      through: [join(w, '.git')],
      limits,
      resume: false,
    });
    await runIn(
      view,
      'echo more >> a.txt; rm gone.txt; chmod +x run.sh; ln -s a.txt link; mkdir -p new/deep; echo n > new/deep/n.txt; ' +
        'echo installed > node_modules/dep/added.js; echo head > .git/ORIG_HEAD; pwd > where.txt',
    );
    // Not hard links: the write to a.txt went to the copy only.
    expect(await readFile(join(w, 'a.txt'), 'utf8')).toBe('a\n');
    expect(await readFile(join(w, 'gone.txt'), 'utf8')).toBe('gone\n');
    // Bound through, as the repository and the dependency folders are: landed at once.
    expect(await readFile(join(w, 'node_modules', 'dep', 'added.js'), 'utf8')).toBe('installed\n');
    expect(await readFile(join(w, '.git', 'ORIG_HEAD'), 'utf8')).toBe('head\n');
    const found = view.read([], 1 << 20);
    expect(found.changes.map((c) => [c.path, c.before?.hash !== undefined, c.after?.hash !== undefined])).toEqual([
      ['a.txt', true, true],
      ['gone.txt', true, false],
      ['link', false, true],
      ['new/deep/n.txt', false, true],
      ['run.sh', true, true],
      ['where.txt', false, true],
    ]);
    expect(found.changes.find((c) => c.path === 'run.sh')!.after!.mode & 0o111).not.toBe(0);
    const merged = await serialized(w, () =>
      mergeSteps(w, found.steps, { startedNs: view.startedNs, since: 0, who: 'task 1' }),
    );
    expect(merged.merged).toBe(true);
    expect(await readFile(join(w, 'a.txt'), 'utf8')).toBe('a\nmore\n');
    expect(await readFile(join(w, 'where.txt'), 'utf8')).toBe(`${w}\n`);
    expect(await readFile(join(w, 'new', 'deep', 'n.txt'), 'utf8')).toBe('n\n');
    expect(await readlink(join(w, 'link'))).toBe('a.txt');
    expect((await stat(join(w, 'run.sh'))).mode & 0o111).not.toBe(0);
    await expect(lstat(join(w, 'gone.txt'))).rejects.toThrow(/ENOENT/);
  });

  it("the sandbox's rules hold in the copy: git's config is read-only, a config file the command makes is removed", async () => {
    const { w, views } = await project();
    await writeFile(join(w, '.git', 'config'), '[core]\n');
    const view = await openCopyView(w, join(views, 'r', '1'), { through: [join(w, '.git')], limits, resume: false });
    const confined = (command: string) =>
      runConfined(
        command,
        sandbox.confinement,
        sandbox.config.execution.limits,
        { cwd: w, env: childEnvironment().env, timeoutMs: 60_000, tailChars: 4000, keepBytes: 100_000 },
        view,
      );
    const hook = await confined('echo "[core] fsmonitor = evil" >> .git/config');
    expect(hook.exitCode).not.toBe(0);
    expect(await readFile(join(w, '.git', 'config'), 'utf8')).toBe('[core]\n');
    const planted = await confined('echo "{}" > implement-agent.config.json');
    expect(planted.refused).toContain('implement-agent.config.json');
    await expect(lstat(join(view.root, 'implement-agent.config.json'))).rejects.toThrow(/ENOENT/);
  });

  it('a path the folder changed since the copy was made is a conflict, and nothing is applied', async () => {
    const { w, views } = await project();
    const view = await openCopyView(w, join(views, 'r', '1'), { through: [], limits, resume: false });
    await runIn(view, 'echo mine > a.txt; echo new > b.txt');
    await writeFile(join(w, 'a.txt'), 'theirs\n');
    const found = view.read([], 1 << 20);
    const merged = await mergeSteps(w, found.steps, { startedNs: view.startedNs, since: 0, who: 'task 1' });
    expect(merged).toEqual({ merged: false, conflicts: [{ path: 'a.txt', by: 'not a task' }] });
    await expect(lstat(join(w, 'b.txt'))).rejects.toThrow(/ENOENT/);
  });

  it('a copy left by a dead executor is taken up again with its manifest; a fresh one starts from the folder', async () => {
    const { w, views } = await project();
    const dir = join(views, 'r', '1');
    const first = await openCopyView(w, dir, { through: [], limits, resume: false });
    await runIn(first, 'echo resumed > a.txt; chmod 600 lib/m.js');
    await chmod(join(w, 'run.sh'), 0o700);
    const again = await openCopyView(w, dir, { through: [], limits, resume: true });
    expect(again.startedNs).toBe(first.startedNs);
    expect(
      again
        .read([], 1 << 20)
        .changes.map((c) => c.path)
        .sort(),
    ).toEqual(['a.txt', 'lib/m.js']);
    const fresh = await openCopyView(w, dir, { through: [], limits, resume: false });
    expect(fresh.read([], 1 << 20).changes).toEqual([]);
    expect(await readFile(join(fresh.root, 'a.txt'), 'utf8')).toBe('a\n');
  });

  it('a tree past the limits is refused, naming the setting; nothing is left of the copy', async () => {
    const { w, views } = await project();
    const dir = join(views, 'r', '1');
    await expect(
      openCopyView(w, dir, { through: [], limits: { maxFiles: 3, maxBytes: 1 << 20 }, resume: false }),
    ).rejects.toThrow(`${w} holds more than 3 files (execution.copyLimits.maxFiles)`);
    await expect(
      openCopyView(w, dir, { through: [], limits: { maxFiles: 100, maxBytes: 10 }, resume: false }),
    ).rejects.toThrow(`${w} holds more than 10 bytes (execution.copyLimits.maxBytes)`);
    await expect(lstat(dir)).rejects.toThrow(/ENOENT/);
  });
});
