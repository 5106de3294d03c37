import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/nats.ts';

const TEST = join(REPO_ROOT, 'test');
const SRC = join(REPO_ROOT, 'src');
/** Folders of test/ that name no src/ folder: what the tests share, and tests of the whole. */
const OWN_FOLDERS = new Set(['helpers', 'fixtures', 'opt-in', 'system', 'repo']);

const entries = readdirSync(TEST, { recursive: true, withFileTypes: true }).map((e) =>
  relative(TEST, join(e.parentPath, e.name)),
);
const ownFolder = (path: string) => OWN_FOLDERS.has(path.split('/')[0]!);

describe('test/ mirrors src/', () => {
  it('each test folder names a src/ folder, or is one of its own (helpers, fixtures, opt-in, system, repo)', () => {
    const folders = entries.filter((p) => statSync(join(TEST, p)).isDirectory() && !ownFolder(p));
    expect(folders.length).toBeGreaterThan(5);
    expect(folders.filter((p) => !existsSync(join(SRC, p)) || !statSync(join(SRC, p)).isDirectory())).toEqual([]);
  });

  it('a test file at the top of test/ tests the module of its name at the top of src/', () => {
    const top = entries.filter((p) => !p.includes('/') && p.endsWith('.test.ts'));
    const module = (file: string) => file.replace(/\.(unit|int)\.test\.ts$/, '.ts');
    expect(top.filter((f) => !existsSync(join(SRC, module(f))))).toEqual([]);
  });

  it('each test file says whether it needs a server: *.unit.test.ts or *.int.test.ts', () => {
    const tests = entries.filter((p) => p.endsWith('.test.ts'));
    expect(tests.filter((p) => !/\.(unit|int)\.test\.ts$/.test(p))).toEqual([]);
  });
});
