import { mkdtemp, mkdir, readFile, rm, symlink, writeFile, chmod, stat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileChange } from '../../src/events/agent-events.ts';
import { untickTask, tickTask } from '../../src/tasklist/tasks-writer.ts';
import { renderChange, renderStat } from '../../src/workspace/render-diff.ts';
import { planRevert } from '../../src/workspace/revert-plan.ts';
import { suspectsFor, criterionReads } from '../../src/workspace/regressions.ts';
import { netChanges, type TaskFiles } from '../../src/workspace/run-changes.ts';
import { taskChanges } from '../../src/workspace/task-changes.ts';
import { TreeScanner } from '../../src/workspace/tree-scan.ts';
import { undoChanges } from '../../src/workspace/undo.ts';
import { restorePath } from '../../src/workspace/restore.ts';
import { WorkTree } from '../../src/workspace/work-tree.ts';
import { RunTrees } from '../../src/workspace/run-trees.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ia-tree-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const limits = { maxFileBytes: 1024 * 1024, maxKeptBytes: 16 * 1024 * 1024 };
const treeOf = (excluded: string[] = []) => new WorkTree(new TreeScanner(dir, new Set(excluded)), limits);
const summary = (changes: { path: string; before?: { hash: string }; after?: { hash: string } }[]) =>
  changes.map((c) => `${c.before ? (c.after ? 'M' : 'D') : 'A'} ${c.path}`);

describe('the work tree', () => {
  it('finds files created, modified, deleted, relinked and made executable, with their before contents', async () => {
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src/a.js'), 'a1');
    await writeFile(join(dir, 'gone.txt'), 'bye');
    await writeFile(join(dir, 'run.sh'), 'echo');
    await symlink('src/a.js', join(dir, 'link'));
    const tree = treeOf();
    await writeFile(join(dir, 'src/a.js'), 'a2 longer');
    await writeFile(join(dir, 'src/new.js'), 'n');
    await rm(join(dir, 'gone.txt'));
    await chmod(join(dir, 'run.sh'), 0o755);
    await rm(join(dir, 'link'));
    await symlink('src/new.js', join(dir, 'link'));
    const { changes } = tree.refresh();
    expect(summary(changes)).toEqual(['D gone.txt', 'M link', 'M run.sh', 'M src/a.js', 'A src/new.js']);
    const a = changes.find((c) => c.path === 'src/a.js')!;
    expect(a.before!.bytes!.toString()).toBe('a1');
    expect(a.after!.bytes!.toString()).toBe('a2 longer');
    expect(changes.find((c) => c.path === 'link')!.before!.bytes!.toString()).toBe('src/a.js');
    expect(changes.find((c) => c.path === 'run.sh')!.after!.mode).toBe(0o755);
    expect(tree.refresh().changes).toEqual([]);
  });

  it("counts what the project ignores instead of reading it, and never looks at .git or the tool's own files", async () => {
    await writeFile(join(dir, '.gitignore'), 'dist/\n*.log\n');
    await writeFile(join(dir, 'tasks.md'), '- [ ] 1. x\n');
    const tree = treeOf(['tasks.md']);
    await mkdir(join(dir, 'node_modules/pkg'), { recursive: true });
    await writeFile(join(dir, 'node_modules/pkg/index.js'), '');
    await mkdir(join(dir, 'dist'));
    await writeFile(join(dir, 'dist/out.js'), '');
    await writeFile(join(dir, 'debug.log'), 'x');
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git/HEAD'), 'ref');
    await writeFile(join(dir, 'tasks.md'), '- [x] 1. x\n');
    const { changes, ignored } = tree.refresh();
    expect(changes).toEqual([]);
    expect(ignored.sort((a, b) => (a.path < b.path ? -1 : 1))).toEqual([
      { path: 'debug.log', entries: 1 },
      { path: 'dist', entries: 1 },
      { path: 'node_modules', entries: 2 },
    ]);
  });

  it('keeps no content over the per-file cap, so such a change is named as not stored', async () => {
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(2048, 1));
    const tree = new WorkTree(new TreeScanner(dir, new Set()), { maxFileBytes: 1024, maxKeptBytes: 1 << 20 });
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(4096, 2));
    const record = taskChanges(tree.refresh().changes, 1 << 20);
    expect(record.files).toEqual([expect.objectContaining({ path: 'big.bin', stored: false })]);
    expect(record.skipped[0]!.reason).toContain('changes.maxFileBytes');
  });

  it('undoes a failed task: files back byte for byte, created ones gone, modes and links restored', async () => {
    await writeFile(join(dir, 'a.txt'), 'one\n');
    await writeFile(join(dir, 'x.sh'), 'echo');
    await chmod(join(dir, 'x.sh'), 0o755);
    await symlink('a.txt', join(dir, 'l'));
    const tree = treeOf();
    await writeFile(join(dir, 'a.txt'), 'two\n');
    await rm(join(dir, 'x.sh'));
    await writeFile(join(dir, 'new.txt'), 'n');
    await rm(join(dir, 'l'));
    await writeFile(join(dir, 'l'), 'a file now');
    const { changes } = tree.refresh();
    const undone = await undoChanges(tree, changes, []);
    expect(undone.kept).toEqual([]);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect((await stat(join(dir, 'x.sh'))).mode & 0o777).toBe(0o755);
    await expect(stat(join(dir, 'new.txt'))).rejects.toThrow();
    expect(await readlink(join(dir, 'l'))).toBe('a.txt');
    expect(tree.refresh().changes).toEqual([]);
  });

  it('undoes nothing while another task ran in the same folder, and says why', async () => {
    await writeFile(join(dir, 'a.txt'), 'one');
    const tree = treeOf();
    await writeFile(join(dir, 'a.txt'), 'two');
    const undone = await undoChanges(tree, tree.refresh().changes, ['7']);
    expect(undone).toEqual({
      restored: [],
      kept: [{ path: 'a.txt', reason: expect.stringContaining('task(s) 7 were running') }],
    });
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('two');
  });
});

describe('the trees of the runs an executor serves', () => {
  it("keeps the tree of a run with a task still running when a newer run comes, and records that task's changes", async () => {
    const trees = new RunTrees(limits);
    const state = join(dir, '.implement-agent');
    await trees.enter({ runId: 'busy', taskId: '1', workdir: dir }, state);
    await trees.enter({ runId: 'idle', taskId: '1', workdir: dir }, state);
    trees.leave('idle', '1');
    await trees.enter({ runId: 'new', taskId: '1', workdir: dir }, state);
    await writeFile(join(dir, 'made.txt'), 'x');
    expect(trees.leave('busy', '1').changes.map((c) => c.path)).toEqual(['made.txt']);
    expect(trees.leave('idle', '1').changes).toEqual([]);
  });
});

const change = (path: string, before: string | null, after: string | null, stored = true): FileChange => ({
  path,
  kind: 'file',
  before,
  after,
  beforeMode: before ? 0o644 : null,
  mode: after ? 0o644 : null,
  size: 1,
  stored,
});
const task = (taskId: string, seq: number, files: FileChange[], undone?: TaskFiles['undone']): TaskFiles => ({
  taskId,
  seq,
  files,
  ignored: [],
  skipped: [],
  ...(undone ? { undone } : {}),
});

describe('changes across tasks', () => {
  it('nets several changes of a path: the first before, the last after, nothing when it ends as it began', () => {
    expect(
      netChanges([change('a', null, 'h1'), change('a', 'h1', 'h2'), change('b', 'x', 'y'), change('b', 'y', 'x')]),
    ).toEqual([change('a', null, 'h2')]);
  });

  it('plans a revert: a file changed since by a later task is a conflict naming it; reverting the later one first clears it', () => {
    const t3 = task('3', 10, [change('lib', null, 'L1'), change('notes', 'N0', 'N1')]);
    const t4 = task('4', 20, [change('lib', 'L1', 'L2')]);
    const now = new Map([
      ['lib', 'L2'],
      ['notes', 'N1'],
    ]);
    expect(planRevert([t3], [t3, t4], now)[0]!.conflicts).toEqual([
      { path: 'lib', reason: 'task 4 changed it since; it no longer holds what task 3 left' },
    ]);
    const both = planRevert([t4, t3], [t3, t4], now);
    expect(both.flatMap((s) => s.conflicts)).toEqual([]);
    expect(both[1]!.writes.map((w) => [w.path, w.before])).toEqual([
      ['lib', null],
      ['notes', 'N0'],
    ]);
    expect(
      planRevert([task('5', 30, [change('big', 'b0', 'b1', false)])], [], new Map([['big', 'b1']]))[0]!.conflicts[0]!
        .reason,
    ).toContain('not stored');
  });

  it('suspects the later tasks that touched what a criterion reads, else all that came after', () => {
    const tasks = [
      task('1', 1, [change('lib.txt', null, 'a')]),
      task('2', 2, [change('other', null, 'b')]),
      task('3', 3, [change('lib.txt', 'a', 'c')]),
      task('4', 4, [change('lib.txt', 'c', 'd')], 'reverted'),
    ];
    expect(
      suspectsFor('1', criterionReads({ kind: 'command', command: 'grep -q lib lib.txt', exitCode: 0 }), tasks),
    ).toEqual({ suspects: ['3'], suspectedBy: 'files' });
    expect(suspectsFor('1', criterionReads({ kind: 'command', command: 'make check', exitCode: 0 }), tasks)).toEqual({
      suspects: ['2', '3'],
      suspectedBy: 'order',
    });
    expect(
      suspectsFor('1', criterionReads({ kind: 'file_exists', path: 'src' }), [
        task('1', 1, []),
        task('2', 2, [change('src/a.ts', 'x', null)]),
      ]),
    ).toEqual({ suspects: ['2'], suspectedBy: 'files' });
  });
});

describe('showing and unticking', () => {
  it('renders a created file as git does', () => {
    const lines = renderChange(change('n.txt', null, 'h'), undefined, Buffer.from('one\ntwo\n'));
    expect(lines).toEqual([
      'diff --git a/n.txt b/n.txt',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/n.txt',
      '@@ -0,0 +1,2 @@',
      '+one',
      '+two',
    ]);
    expect(renderStat([{ path: 'n.txt', added: 2, removed: 0 }]).at(-1)).toBe(
      ' 1 file(s) changed, 2 insertion(s)(+), 0 deletion(s)(-)',
    );
  });

  it("unticks only the task's box, byte for byte otherwise", () => {
    const text = '\uFEFF- [x] 1. a\r\n- [x] 2. b\r\n';
    expect(untickTask(text, '2', 2)).toBe('\uFEFF- [x] 1. a\r\n- [ ] 2. b\r\n');
    expect(tickTask(untickTask(text, '2', 2), '2', 2)).toBe(text);
    expect(untickTask('- [ ] 1. a\n', '1', 1)).toBe('- [ ] 1. a\n');
  });
});

describe('restoring a path (rollback and revert)', () => {
  const bytes = Buffer.from('#!/bin/sh\ntouch owned\n');
  const file = { kind: 'file' as const, bytes, mode: 0o755 };

  it("never writes into .git, the tool's folder or the config file, nor out through a symlinked folder", async () => {
    await mkdir(join(dir, '.git/hooks'), { recursive: true });
    await symlink('.git/hooks', join(dir, 'hooks-link'));
    await symlink(tmpdir(), join(dir, 'tmp-link'));
    const refused = {
      '.git/hooks/pre-commit': ".git/hooks/pre-commit: it is inside a repository's .git",
      'sub/.git/config': "it is inside a repository's .git",
      '.implement-agent/x': "it is inside the tool's own folder .implement-agent",
      'implement-agent.config.json': 'it is the configuration file',
      'hooks-link/pre-commit': `leads through ${join(dir, '.git/hooks')}`,
      'tmp-link/planted': 'leads outside the working directory',
      '../planted': 'not inside the working directory',
      [join(dir, 'abs')]: 'not inside the working directory',
    };
    for (const [path, why] of Object.entries(refused)) {
      await expect(restorePath(dir, path, file), path).rejects.toThrow(why);
    }
    await expect(readFile(join(dir, '.git/hooks/pre-commit'))).rejects.toThrow();
    await expect(readFile(join(tmpdir(), 'planted'))).rejects.toThrow();
    await restorePath(dir, 'ok/run.sh', file);
    expect(await readFile(join(dir, 'ok/run.sh'))).toEqual(bytes);
  });
});
