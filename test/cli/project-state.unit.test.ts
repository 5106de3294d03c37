import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createState, locateState, settleState, STATE_GITIGNORE } from '../../src/cli/project-state.ts';

/** A file system of the named folders: `has(dir, entry)` is whether `dir/entry` is one of them. */
const fs = (...paths: string[]) => {
  const set = new Set(paths);
  return (dir: string, entry: string) => set.has(join(dir, entry));
};
const NAME = '.implement-agent';
const CEILINGS = ['/home/ann', '/tmp', '/'];

describe('where a project keeps its state', () => {
  it('at the git root, found from any folder below it', () => {
    const has = fs('/home/ann/app/.git', '/home/ann/app/.implement-agent');
    for (const start of ['/home/ann/app', '/home/ann/app/specs', '/home/ann/app/src/deep/er'])
      expect(locateState(start, NAME, has, CEILINGS)).toEqual({
        kind: 'found',
        stateDir: '/home/ann/app/.implement-agent',
        root: '/home/ann/app',
      });
  });

  it('none yet: made at the git root, not in the folder the command runs from', () => {
    expect(locateState('/home/ann/app/specs', NAME, fs('/home/ann/app/.git'), CEILINGS)).toEqual({
      kind: 'none',
      stateDir: '/home/ann/app/.implement-agent',
      root: '/home/ann/app',
    });
  });

  it("an earlier version's store below the root is used, and named as belonging at the root", () => {
    const has = fs('/home/ann/app/.git', '/home/ann/app/specs/.implement-agent');
    expect(locateState('/home/ann/app/specs', NAME, has, CEILINGS)).toEqual({
      kind: 'legacy',
      stateDir: '/home/ann/app/specs/.implement-agent',
      root: '/home/ann/app',
    });
    // The root's own wins once it exists.
    const both = fs('/home/ann/app/.git', '/home/ann/app/.implement-agent', '/home/ann/app/specs/.implement-agent');
    expect(locateState('/home/ann/app/specs', NAME, both, CEILINGS).stateDir).toBe('/home/ann/app/.implement-agent');
  });

  it('without git: the nearest folder up that holds one, else the folder itself', () => {
    const has = fs('/srv/app/.implement-agent');
    expect(locateState('/srv/app/specs', NAME, has, CEILINGS)).toMatchObject({ kind: 'found', root: '/srv/app' });
    expect(locateState('/srv/other', NAME, has, CEILINGS)).toEqual({
      kind: 'none',
      stateDir: '/srv/other/.implement-agent',
      root: '/srv/other',
    });
  });

  it('a store in the home, the temporary folder or / is no project above them', () => {
    for (const store of ['/home/ann/.implement-agent', '/tmp/.implement-agent', '/.implement-agent'])
      for (const start of ['/home/ann/work/x', '/tmp/ia-ws-1', '/srv/x'])
        expect(locateState(start, NAME, fs(store), CEILINGS).kind).toBe('none');
    // Run from the home itself, its own store is found.
    expect(locateState('/home/ann', NAME, fs('/home/ann/.implement-agent'), CEILINGS).kind).toBe('found');
  });

  it('a stateDir given as an absolute path is that folder, wherever the command runs', () => {
    expect(locateState('/home/ann/app/specs', '/var/ia', fs('/home/ann/app/.git', '/var/ia'), CEILINGS)).toEqual({
      kind: 'found',
      stateDir: '/var/ia',
      root: '/home/ann/app',
    });
  });
});

describe('the state folder on disk', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const temp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'ia-state-'));
    dirs.push(d);
    return d;
  };

  it('appears with its .gitignore (*) at once, and a second maker keeps the first one', async () => {
    const dir = await temp();
    const state = join(dir, NAME);
    await Promise.all([createState(state), createState(state), createState(state)]);
    expect(await readFile(join(state, '.gitignore'), 'utf8')).toBe(STATE_GITIGNORE);
    // Nothing left aside by the makers that lost the race.
    expect(await readdir(dir)).toEqual([NAME]);
  });

  it('a command that only reads makes none, and says where it looked and where a run makes one', async () => {
    const dir = await temp();
    await mkdir(join(dir, '.git'));
    await mkdir(join(dir, 'specs'));
    const config = await loadConfig({ cwd: dir, env: {} });
    await expect(settleState(config, join(dir, 'specs'), { create: false })).rejects.toThrow(
      `no .implement-agent/ in ${join(dir, 'specs')} or above: no run was made in this project yet (\`implement-agent run <tasks.md>\` makes one at ${dir})`,
    );
    expect(existsSync(join(dir, NAME))).toBe(false);
    expect(existsSync(join(dir, 'specs', NAME))).toBe(false);
    await settleState(config, join(dir, 'specs'), { create: true });
    expect(config.stateDir).toBe(join(dir, NAME));
    expect(existsSync(join(dir, NAME, '.gitignore'))).toBe(true);
  });
});
