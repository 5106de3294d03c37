import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOwnPath, ownPathsIn } from '../../src/context/own-files.ts';
import { ProjectFiles, changedInputs } from '../../src/context/project-files.ts';
import { readInside, realRoot } from '../../src/context/read-inside.ts';

let base: string;
let work: string;
const SECRET = 'the-outside-secret-1f3a';

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'ia-inside-'));
  work = join(base, 'work');
  await mkdir(join(base, 'outside'), { recursive: true });
  await writeFile(join(base, 'outside/secret'), SECRET);
  await mkdir(join(work, 'src'), { recursive: true });
  await writeFile(join(work, 'src/real.md'), 'inside text');
  await symlink(join(base, 'outside/secret'), join(work, 'notes.md'));
  await symlink('../outside', join(work, 'up'));
  await symlink('src/real.md', join(work, 'alias.md'));
  await symlink('src', join(work, 'lib'));
  execFileSync('mkfifo', [join(work, 'pipe.md')]);
});
afterAll(() => rm(base, { recursive: true, force: true }));

describe('files read for a prompt stay in the working directory', () => {
  it('does not read a link whose target leaves it, at the last level or an earlier one', async () => {
    const root = await realRoot(work);
    expect(await readInside(root, 'notes.md')).toBe('outside');
    expect(await readInside(root, 'up/secret')).toBe('outside');
    expect(await readInside(root, 'nothing.md')).toBe('missing');
  });

  it('reads a link that stays inside, and refuses a FIFO without blocking on it', async () => {
    const root = await realRoot(work);
    const alias = await readInside(root, 'alias.md');
    const viaDir = await readInside(root, 'lib/real.md');
    expect(typeof alias === 'object' && alias.bytes.toString()).toBe('inside text');
    expect(typeof viaDir === 'object' && viaDir.bytes.toString()).toBe('inside text');
    expect(await readInside(root, 'pipe.md')).toBe('not-a-file');
  });

  it('says why a named file is not shown, and checksums only what it may read', async () => {
    const project = new ProjectFiles(work, { maxWalk: 100, maxFileBytes: 1000 });
    expect(await project.read('notes.md')).toEqual({
      path: 'notes.md',
      checksum: null,
      content: '',
      truncated: false,
      unread: 'outside',
    });
    expect((await project.read('alias.md')).content).toBe('inside text');
    // The tree shows only files and folders: no link (it follows none out), no FIFO.
    expect((await project.tree()).entries.map((e) => e.path)).toEqual(['src', 'src/real.md']);
    const changed = await changedInputs(work, [{ path: 'up/secret', checksum: 'abc' }]);
    expect(changed).toEqual([{ path: 'up/secret', was: 'abc', now: null }]);
  });
});

describe("the tool's own files", () => {
  it('are those of its paths that lie in the working directory, a folder with what it holds', () => {
    expect(ownPathsIn('/w', ['/w/run.log', '/elsewhere/x.log', '.implement-agent', undefined, '/w'])).toEqual([
      'run.log',
      '.implement-agent',
    ]);
    expect(isOwnPath('.implement-agent/nats/x', ['.implement-agent'])).toBe(true);
    expect(isOwnPath('.implement-agent-notes.md', ['.implement-agent'])).toBe(false);
    expect(isOwnPath('run.log', ['run.log'])).toBe(true);
  });
});
