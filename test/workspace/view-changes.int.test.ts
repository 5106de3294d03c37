import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  rmdir,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeSteps, serialized } from '../../src/workspace/merge.ts';
import { changesSince, viewChanges } from '../../src/workspace/view-changes.ts';
import { discardView, openView, type View } from '../../src/workspace/view.ts';
import { diskProbe } from '../../src/recovery/kinds/probe.ts';

/**
 * A view's change set read from a real overlay's upper layer (a real holder process, unshare and
 * mount), and its merge into the folder: writes, deletions, a folder emptied and made again,
 * modes, links, an ignored folder counted but merged; a path changed since is a conflict.
 */
const dirs: string[] = [];
const views: View[] = [];
afterEach(async () => {
  await Promise.all(views.splice(0).map((v) => v.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function project() {
  const dir = await mkdtemp(join(tmpdir(), 'ia-view-'));
  dirs.push(dir);
  const w = join(dir, 'w');
  await mkdir(join(w, 'lib'), { recursive: true });
  await mkdir(join(w, 'old'), { recursive: true });
  await writeFile(join(w, 'a.txt'), 'a\n');
  await writeFile(join(w, 'b.txt'), 'b\n');
  await writeFile(join(w, 'run.sh'), '#!/bin/sh\n');
  await writeFile(join(w, 'lib', 'x.js'), 'x\n');
  await writeFile(join(w, 'lib', 'y.js'), 'y\n');
  await writeFile(join(w, 'old', 'z.txt'), 'z\n');
  const view = await openView(w, join(dir, 'state', 'views', 'r', '1'));
  views.push(view);
  return { dir, w, view };
}

describe('a task view', () => {
  it("is what the recoverer's probe reads: a file the task wrote is there, in the view only", async () => {
    const { w, view } = await project();
    await writeFile(join(view.root, 'made.sh'), '#!/bin/sh\r\n');
    const inView = diskProbe(w, view.root);
    expect([inView.isFile('made.sh'), inView.isFile(join(w, 'made.sh')), inView.text('made.sh')]).toEqual([
      true,
      true,
      '#!/bin/sh\r\n',
    ]);
    expect(inView.findEnding('made.sh')).toEqual(['made.sh']);
    expect(diskProbe(w).isFile('made.sh')).toBe(false);
  });

  it('records what the task wrote and deleted, and merges exactly that', async () => {
    const { w, view } = await project();
    const v = view.root;
    // What the task does, through the view.
    await writeFile(join(v, 'a.txt'), 'A\n');
    await unlink(join(v, 'b.txt'));
    await chmod(join(v, 'run.sh'), 0o755);
    await symlink('a.txt', join(v, 'link'));
    await rm(join(v, 'lib'), { recursive: true });
    await mkdir(join(v, 'lib'));
    await writeFile(join(v, 'lib', 'y.js'), 'Y\n');
    await rm(join(v, 'old'), { recursive: true });
    await mkdir(join(v, 'node_modules', 'dep'), { recursive: true });
    await writeFile(join(v, 'node_modules', 'dep', 'index.js'), 'dep\n');
    // The folder itself does not change while the task runs.
    expect(await readFile(join(w, 'a.txt'), 'utf8')).toBe('a\n');

    const found = viewChanges(view, [], 1 << 20);
    const summary = found.changes.map((c) => [c.path, c.before?.hash ? 'before' : '-', c.after?.kind ?? '-']);
    expect(summary).toEqual([
      ['a.txt', 'before', 'file'],
      ['b.txt', 'before', '-'],
      ['lib/x.js', 'before', '-'],
      ['lib/y.js', 'before', 'file'],
      ['link', '-', 'link'],
      ['old/z.txt', 'before', '-'],
      ['run.sh', 'before', 'file'],
    ]);
    expect(found.changes.find((c) => c.path === 'run.sh')!.after!.mode).toBe(0o755);
    expect(found.ignored).toEqual([{ path: 'node_modules', entries: 2 }]);

    const merged = await serialized(w, () =>
      mergeSteps(w, found.steps, { startedNs: view.startedNs, since: 0, who: 'task 1' }),
    );
    expect(merged.merged).toBe(true);
    expect(await readFile(join(w, 'a.txt'), 'utf8')).toBe('A\n');
    await expect(lstat(join(w, 'b.txt'))).rejects.toThrow();
    await expect(lstat(join(w, 'lib', 'x.js'))).rejects.toThrow();
    expect(await readFile(join(w, 'lib', 'y.js'), 'utf8')).toBe('Y\n');
    await expect(lstat(join(w, 'old'))).rejects.toThrow();
    expect((await lstat(join(w, 'run.sh'))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(w, 'link'))).toBe('a.txt');
    expect(await readFile(join(w, 'node_modules', 'dep', 'index.js'), 'utf8')).toBe('dep\n');
  });

  it('merges nothing when a path it changed was changed since it began, and names who', async () => {
    const { w, view } = await project();
    await writeFile(join(view.root, 'a.txt'), 'from the task\n');
    await writeFile(join(view.root, 'new.txt'), 'new\n');
    await writeFile(join(w, 'a.txt'), 'by hand\n');
    const found = viewChanges(view, [], 1 << 20);
    const merged = await serialized(w, () =>
      mergeSteps(w, found.steps, { startedNs: view.startedNs, since: 0, who: 'task 1' }),
    );
    expect(merged).toEqual({ merged: false, conflicts: [{ path: 'a.txt', by: 'not a task' }] });
    expect(await readFile(join(w, 'a.txt'), 'utf8')).toBe('by hand\n');
    await expect(lstat(join(w, 'new.txt'))).rejects.toThrow();
  });

  it('records after a fix only what changed since, a path written and then removed going back', async () => {
    const { view } = await project();
    await writeFile(join(view.root, 'tmp.txt'), 'scratch\n');
    await writeFile(join(view.root, 'a.txt'), 'A\n');
    const first = viewChanges(view, [], 1 << 20).changes;
    await unlink(join(view.root, 'tmp.txt'));
    const second = viewChanges(view, [], 1 << 20).changes;
    const since = changesSince(new Map(first.map((c) => [c.path, c])), second);
    expect(since.map((c) => [c.path, c.before?.bytes?.toString(), c.after?.bytes?.toString()])).toEqual([
      ['tmp.txt', 'scratch\n', undefined],
    ]);
  });

  it('goes on from a kept upper layer after its holder ended (a resumed task)', async () => {
    const { dir, w, view } = await project();
    await writeFile(join(view.root, 'a.txt'), 'A\n');
    await view.close();
    const again = await openView(w, join(dir, 'state', 'views', 'r', '1'));
    views.push(again);
    expect(again.startedNs).toBe(view.startedNs);
    expect(await readFile(join(again.root, 'a.txt'), 'utf8')).toBe('A\n');
    await again.close();
    await discardView(join(dir, 'state', 'views', 'r', '1'));
    await expect(rmdir(join(dir, 'state', 'views', 'r'))).rejects.toThrow();
  });
});
