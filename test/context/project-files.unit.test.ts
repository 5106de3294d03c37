import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { namedPaths, ProjectFiles, renderTree } from '../../src/context/project-files.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('the project as the planner sees it', () => {
  it('lists folders again only when they moved, and reads files again only when they moved', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ia-project-'));
    dirs.push(dir);
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src/a.js'), 'a\n');
    await writeFile(join(dir, 'README.md'), 'r\n');
    const project = new ProjectFiles(dir, { maxWalk: 100, maxFileBytes: 1000 });
    await project.tree();
    await project.read('src/a.js');
    expect(project.counters).toEqual({ listed: 2, read: 1 });
    await project.tree();
    expect((await project.read('src/a.js')).content).toBe('a\n');
    expect(project.counters).toEqual({ listed: 2, read: 1 });
    await writeFile(join(dir, 'src/b.js'), 'b\n');
    await writeFile(join(dir, 'src/a.js'), 'a2\n');
    await utimes(join(dir, 'src/a.js'), new Date(), new Date(Date.now() + 5000));
    expect((await project.tree()).entries.map((e) => e.path)).toEqual(['README.md', 'src', 'src/a.js', 'src/b.js']);
    expect((await project.read('src/a.js')).content).toBe('a2\n');
    expect(project.counters).toEqual({ listed: 3, read: 2 });
  });

  it('shows a folder whose contents do not fit with a count of what it holds', () => {
    const entries = [
      { path: 'lib', dir: true, mtimeMs: 0 },
      { path: 'package.json', dir: false, mtimeMs: 0 },
      ...Array.from({ length: 5 }, (_, i) => ({ path: `lib/m${i}.js`, dir: false, mtimeMs: 0 })),
    ];
    expect(renderTree({ entries, total: entries.length, walkedAll: true }, 3)).toBe(
      'lib/ (4 more not shown)\nlib/m0.js\npackage.json',
    );
  });

  it('finds the files a task names, and none outside the working directory', () => {
    expect(
      namedPaths([
        'Add a `timeout` option beside `retries` in `src/config.js`',
        'See package.json and ../secret.txt, e.g. docs/',
        'Use Node.js 20',
      ]),
    ).toEqual(['src/config.js', 'package.json']);
  });
});
