import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ofType, runCli, workspaces } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { connectNats } from '../../src/nats/connection.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { NatsContents } from '../../src/nats/nats-requests.ts';

/**
 * Each task a step to see, check and undo (issue 24), with a real git, a real nats-server and the
 * real CLI: one commit per task, diff, revert with its conflict, a failed task rolled back, and
 * verify naming the task that broke an earlier task's check.
 */
const nats = natsPerSuite();
const ws = workspaces();
afterAll(() => ws.cleanup());

const TASKS = `# Tasks

- [ ] 1. Create the config
  - Success: file config.json exists
  \`\`\`bash
  printf '{"a":1}\\n' > config.json
  \`\`\`
- [ ] 2. Change the app and its tools
  \`\`\`bash
  printf 'v2\\n' > app.txt
  printf '#!/bin/sh\\necho two\\n' > run.sh
  printf '\\000\\001\\002two' > blob.bin
  \`\`\`
- [ ] 3. Add a library
  - Success: \`grep -q lib lib.txt\` exits 0
  \`\`\`bash
  printf 'lib one\\nlib two\\n' > lib.txt
  echo more >> notes.txt
  \`\`\`
- [ ] 4. Rewrite the library
  \`\`\`bash
  printf 'nothing\\n' > lib.txt
  \`\`\`
- [ ] 5. Fail half way
  \`\`\`bash
  printf 'half\\n' > half.txt
  echo broken >> app.txt
  rm notes.txt
  false
  \`\`\`
`;

const git = (dir: string, ...args: string[]) => execa('git', ['-C', dir, ...args]).then((r) => r.stdout);
const cli = (args: string[], cwd: string) =>
  execa(process.execPath, [CLI, ...args], { reject: false, cwd, env: { NATS_URL: nats.url }, timeout: 120_000 });

let dir: string;
let runId: string;
let events: Awaited<ReturnType<typeof runCli>>['events'];
const before: Record<string, Buffer> = {};

beforeAll(async () => {
  ({ dir } = await ws.make(TASKS));
  await git(dir, 'init', '-q');
  await git(dir, 'config', 'user.email', 'dev@example.test');
  await git(dir, 'config', 'user.name', 'Dev');
  await writeFile(join(dir, 'app.txt'), 'v1\n');
  await writeFile(join(dir, 'notes.txt'), 'keep\n');
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho one\n');
  await chmod(join(dir, 'run.sh'), 0o755);
  await writeFile(join(dir, 'blob.bin'), Buffer.from([0, 1, 2, 111, 110, 101]));
  await writeFile(join(dir, '.gitignore'), 'build/\n');
  await git(dir, 'add', '.');
  await git(dir, 'commit', '-qm', 'start');
  // The user's own work in progress: never committed by the run, never rolled back.
  await writeFile(join(dir, 'wip.txt'), 'mine\n');
  for (const f of ['app.txt', 'notes.txt', 'run.sh', 'blob.bin']) before[f] = await readFile(join(dir, f));
  const statusBefore = await git(dir, 'status', '--porcelain', '--', '.', ':!tasks.md');
  ({ events } = await runCli(
    ['run', join(dir, 'tasks.md'), '--workdir', dir, '--commit', '--task-concurrency', '1'],
    { NATS_URL: nats.url },
    dir,
  ));
  runId = events[0]!.runId;
  // The failed task 5 was undone: the tree is as task 4 left it, the user's file untouched.
  expect(await git(dir, 'status', '--porcelain', '--', '.', ':!tasks.md')).toBe(statusBefore);
}, 180_000);

describe('a run in a git repository with --commit', () => {
  it('records what each task changed, with its contents stored', () => {
    const changed = Object.fromEntries(
      ofType(events, 'TaskFilesChanged').map((e) => [e.taskId, e.data.files.map((f) => f.path)]),
    );
    expect(changed).toEqual({
      '1': ['config.json'],
      '2': ['app.txt', 'blob.bin', 'run.sh'],
      '3': ['lib.txt', 'notes.txt'],
      '4': ['lib.txt'],
      '5': ['app.txt', 'half.txt', 'notes.txt'],
    });
    expect(ofType(events, 'TaskFilesChanged').every((e) => e.data.files.every((f) => f.stored))).toBe(true);
  });

  it('makes one commit per completed task holding exactly its files, with the trailers', async () => {
    const log = await git(
      dir,
      'log',
      '--format=%H%x09%s%x09%(trailers:key=Implement-Agent-Task,valueonly,separator=)',
      'HEAD~4..HEAD',
    );
    const commits = log
      .split('\n')
      .reverse()
      .map((l) => l.split('\t'));
    expect(commits.map((c) => [c[1], c[2]])).toEqual([
      ['Create the config', '1'],
      ['Change the app and its tools', '2'],
      ['Add a library', '3'],
      ['Rewrite the library', '4'],
    ]);
    const files = await Promise.all(commits.map((c) => git(dir, 'show', '--name-only', '--format=', c[0]!)));
    expect(files.map((f) => f.split('\n').sort())).toEqual([
      ['config.json'],
      ['app.txt', 'blob.bin', 'run.sh'],
      ['lib.txt', 'notes.txt'],
      ['lib.txt'],
    ]);
    expect((await git(dir, 'log', '-1', '--format=%(trailers:key=Implement-Agent-Run,valueonly)')).trim()).toBe(runId);
    const completed = ofType(events, 'TaskCompleted');
    expect(completed.map((e) => e.data.commit)).toEqual(commits.map((c) => c[0]));
    // Dirty before the run: neither committed nor touched.
    expect(await git(dir, 'status', '--porcelain', 'wip.txt')).toBe('?? wip.txt');
  });

  it('leaves nothing of a failed task and still shows what it did', async () => {
    // Its view was discarded: nothing of it reached the folder, so nothing had to be restored.
    expect(ofType(events, 'TaskRolledBack')[0]!.data).toEqual({ restored: [], kept: [], discarded: true });
    await expect(stat(join(dir, 'half.txt'))).rejects.toThrow();
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('keep\nmore\n');
    const shown = await cli(['diff', runId, '5'], dir);
    expect(shown.stdout).toContain('+++ b/half.txt');
    expect(shown.stdout).toContain('+broken');
    expect(shown.stdout).toContain('deleted file mode 100644');
  });

  it('diffs the run and one task, as a patch, a stat and JSON', async () => {
    const task2 = await cli(['diff', runId, '2'], dir);
    expect(task2.exitCode).toBe(0);
    expect(task2.stdout).toContain(
      'diff --git a/app.txt b/app.txt\n--- a/app.txt\n+++ b/app.txt\n@@ -1 +1 @@\n-v1\n+v2',
    );
    expect(task2.stdout).toContain('Binary files a/blob.bin and b/blob.bin differ');
    const whole = await cli(['diff', runId, '--stat'], dir);
    expect(whole.stdout).toMatch(/config\.json \|\s+1 \+/);
    expect(whole.stdout).toContain('task 5 left out');
    const json = JSON.parse((await cli(['diff', runId, '3', '--json'], dir)).stdout) as {
      files: { path: string; added: number; removed: number }[];
    };
    expect(json.files.map((f) => [f.path, f.added, f.removed])).toEqual([
      ['lib.txt', 2, 0],
      ['notes.txt', 1, 0],
    ]);
  });

  it("verify names the task that broke an earlier task's check", async () => {
    const verified = await cli(['verify', runId, '--json'], dir);
    expect(verified.exitCode).toBe(1);
    const result = JSON.parse(verified.stdout) as {
      checked: string[];
      regressions: { taskId: string; suspects: string[]; suspectedBy: string }[];
    };
    expect(result.checked).toEqual(['1', '3']);
    expect(result.regressions).toEqual([
      expect.objectContaining({ taskId: '3', suspects: ['4'], suspectedBy: 'files' }),
    ]);
  });

  it('status shows each task as a step: its files, its commit, undone', async () => {
    const status = JSON.parse((await cli(['status', runId, '--json'], dir)).stdout) as {
      tasks: { id: string; changedFiles?: number; commit?: string; undone?: string; evidence?: string }[];
    };
    const byId = Object.fromEntries(status.tasks.map((t) => [t.id, t]));
    expect(byId['2']).toMatchObject({
      changedFiles: 3,
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      evidence: 'commands',
    });
    expect(byId['1']).toMatchObject({ evidence: 'criteria' });
    expect(byId['5']).toMatchObject({ undone: 'rolled-back' });
  });

  it('refuses a revert whose file was changed since, naming it and writing nothing', async () => {
    await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho edited by hand\n');
    const files = await Promise.all(['app.txt', 'blob.bin', 'run.sh', 'tasks.md'].map((f) => readFile(join(dir, f))));
    const refused = await cli(['revert', runId, '2'], dir);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('conflict run.sh (task 2)');
    expect(refused.stderr).toContain('nothing written');
    expect(await Promise.all(['app.txt', 'blob.bin', 'run.sh', 'tasks.md'].map((f) => readFile(join(dir, f))))).toEqual(
      files,
    );
    await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho two\n');
  });

  it('reverts a task byte for byte, mode included, unticks it and commits the revert', async () => {
    const reverted = await cli(['revert', runId, '2'], dir);
    // Task 5 depends on it too, but its changes were rolled back: nothing of it is in the tree.
    expect(reverted.stderr).toContain('task(s) 3, 4 depend on task 2 and are not reverted');
    expect(reverted.exitCode).toBe(0);
    for (const f of ['app.txt', 'run.sh', 'blob.bin']) expect(await readFile(join(dir, f))).toEqual(before[f]);
    expect((await stat(join(dir, 'run.sh'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(dir, 'tasks.md'), 'utf8')).toMatch(/- \[ \] 2\. Change the app/);
    expect(await readFile(join(dir, 'tasks.md'), 'utf8')).toMatch(/- \[x\] 3\. Add a library/);
    expect(await git(dir, 'log', '-1', '--format=%s')).toBe('Revert "Change the app and its tools"');
    expect((await git(dir, 'show', '--name-only', '--format=', 'HEAD')).split('\n').sort()).toEqual([
      'app.txt',
      'blob.bin',
      'run.sh',
    ]);
    const again = await cli(['revert', runId, '2'], dir);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('already reverted');
  });

  it('forces a revert over a hand edit only after keeping a copy of what it writes over', async () => {
    await writeFile(join(dir, 'lib.txt'), 'my own edit\n');
    const forced = await cli(['revert', runId, '4', '--force'], dir);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await readFile(join(dir, 'lib.txt'), 'utf8')).toBe('lib one\nlib two\n');
    const nc = await connectNats(nats.url, 'inspect');
    try {
      const reverted = (await (await EventStore.open(nc)).readRun(runId)).filter(
        (e) => e.type === 'TaskReverted' && e.taskId === '4',
      );
      const data = reverted[0]?.type === 'TaskReverted' ? reverted[0].data : undefined;
      expect(data).toMatchObject({
        forced: ['lib.txt'],
        overwritten: [{ path: 'lib.txt', content: expect.any(String) }],
      });
      const copy = await new NatsContents(nc, 1).get(data!.overwritten![0]!.content);
      expect(Buffer.from(copy!).toString()).toBe('my own edit\n');
    } finally {
      await nc.close();
    }
  });
});

describe('run --verify', () => {
  it('checks every completed task again once the run is over, naming the task that broke one (exit 1)', async () => {
    const w = await ws.make(
      '- [ ] 1. A\n  - Success: `grep -q a a.txt` exits 0\n  ```bash\n  echo a > a.txt\n  ```\n- [ ] 2. B\n  ```bash\n  echo b > a.txt\n  ```\n',
    );
    const run = await execa(process.execPath, [CLI, 'run', w.tasks, '--workdir', w.dir, '--verify'], {
      reject: false,
      cwd: w.dir,
      env: { NATS_URL: nats.url, NO_COLOR: '1' },
    });
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stdout).toContain('run succeeded: 2 completed');
    expect(run.stdout).toContain('task 1: `grep -q a a.txt` exits 0 no longer holds');
    expect(run.stdout).toContain('first broken by task 2');
  });
});

describe('a recovery fix', () => {
  it("records what the task changed up to its fix, then the rest; revert undoes both, the fix's mode change too", async () => {
    const w = await ws.make('- [ ] 1. Build\n  ```bash\n  ./build.sh\n  ```\n');
    await writeFile(join(w.dir, 'build.sh'), '#!/bin/sh\necho built > out.txt\n');
    await chmod(join(w.dir, 'build.sh'), 0o644);
    const { events: run } = await runCli(['run', w.tasks, '--workdir', w.dir], { NATS_URL: nats.url }, w.dir);
    expect(ofType(run, 'TaskCompleted')).toHaveLength(1);
    const records = ofType(run, 'TaskFilesChanged').map((e) => ({
      fix: e.data.fix,
      files: e.data.files.map((f) => [f.path, f.beforeMode, f.mode]),
    }));
    expect(records).toEqual([
      { fix: 'c1 recovery 0', files: [['build.sh', 0o644, 0o755]] },
      { fix: undefined, files: [['out.txt', null, 0o644]] },
    ]);
    const reverted = await cli(['revert', run[0]!.runId, '1'], w.dir);
    expect(reverted.exitCode, reverted.stderr).toBe(0);
    expect((await stat(join(w.dir, 'build.sh'))).mode & 0o777).toBe(0o644);
    await expect(stat(join(w.dir, 'out.txt'))).rejects.toThrow();
  });
});

describe('the size caps', () => {
  it('say which changes were not stored, so cannot be undone, and diff says why', async () => {
    const w = await ws.make(
      '- [ ] 1. Write\n  ```bash\n  head -c 100 /dev/zero > big.bin\n  echo s > small.txt\n  ```\n',
    );
    await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ changes: { maxFileBytes: 16 } }));
    const run = await execa(process.execPath, [CLI, 'run', w.tasks, '--workdir', w.dir], {
      reject: false,
      cwd: w.dir,
      env: { NATS_URL: nats.url, NO_COLOR: '1' },
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/1\. Write: not stored, so not undoable: big\.bin \(after content not kept \(100 bytes/);
    const runId = /run (\S+):/.exec(run.stdout)![1]!;
    const shown = await cli(['diff', runId, '1'], w.dir);
    expect(shown.stdout).toContain('+++ b/small.txt');
    expect(shown.stdout).toMatch(/diff --git a\/big\.bin b\/big\.bin\nnew file mode 100644\n\(contents not stored/);
  });
});
