import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { projectOf } from '../../src/workspace/git.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const git = (dir: string, ...args: string[]) =>
  execa('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);

describe('the project a run names', () => {
  it('is the base commit, the folder in the repository and its origin remote', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ia-project-'));
    dirs.push(dir);
    await git(dir, 'init', '-q');
    await mkdir(join(dir, 'app'));
    await writeFile(join(dir, 'app/a.txt'), 'a\n');
    await git(dir, 'add', '.');
    await git(dir, 'commit', '-qm', 'base');
    await git(dir, 'remote', 'add', 'origin', 'https://example.invalid/p.git');
    const head = (await git(dir, 'rev-parse', 'HEAD')).stdout.trim();
    expect(await projectOf(join(dir, 'app'))).toEqual({
      commit: head,
      prefix: 'app/',
      remote: 'https://example.invalid/p.git',
    });
  });

  it('is nothing outside a repository, or in one with no commit yet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ia-project-'));
    dirs.push(dir);
    expect(await projectOf(dir)).toBeUndefined();
    await git(dir, 'init', '-q');
    expect(await projectOf(dir)).toBeUndefined();
  });
});
