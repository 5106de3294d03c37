import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ofType, runCli } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';

/**
 * Each task in its own copy-on-write view (#36), with the real CLI, bubblewrap, git and a
 * nats-server, tasks side by side at the default concurrency. Tasks meet through a folder outside
 * the project (`sandbox.writable`): each waits there for the other, so what one sees of the
 * other's unfinished work is decided by the order, not by timing. The same scenarios run where no
 * overlay can be had, in copies of the folder: triggered for real by a comma in the project's
 * path, which an overlay's mount options cannot hold.
 */
const nats = natsPerSuite();
const syncs: string[] = [];
afterAll(() => Promise.all(syncs.map((d) => rm(d, { recursive: true, force: true }))));

const git = (dir: string, ...args: string[]) => execa('git', ['-C', dir, ...args]).then((r) => r.stdout);
const cli = (args: string[], cwd: string) =>
  execa(process.execPath, [CLI, ...args], { reject: false, cwd, env: { NATS_URL: nats.url }, timeout: 120_000 });
const gone = (path: string) =>
  stat(path).then(
    () => false,
    () => true,
  );
const until = (sync: string, name: string) => `until [ -e ${sync}/${name} ]; do sleep 0.05; done`;

/** How each task is kept apart: a view, or a copy where the project's path keeps the overlay out. */
const modes = [
  { isolation: 'view', prefix: 'ia-views-', warning: undefined },
  {
    isolation: 'copy',
    prefix: 'ia,copies-',
    warning:
      'warning: tasks run in copies of the folder, not in views of their own: an overlay cannot be mounted with a comma',
  },
] as const;

/** A project (its folder's name from `prefix`) whose tasks share `sync` (outside it); `execution` settings go to its config. */
async function project(prefix: string, tasks: (sync: string) => string, execution: Record<string, unknown> = {}) {
  const [dir, sync] = await Promise.all([mkdtemp(join(tmpdir(), prefix)), mkdtemp(join(tmpdir(), 'ia-sync-'))]);
  syncs.push(dir, sync);
  await writeFile(join(dir, 'tasks.md'), tasks(sync));
  await writeFile(
    join(dir, 'implement-agent.config.json'),
    JSON.stringify({ sandbox: { writable: [sync] }, execution: { commandTimeoutMs: 60_000, ...execution } }),
  );
  return { dir, sync };
}

const run = (dir: string, ...args: string[]) => runCli(['run', 'tasks.md', ...args], { NATS_URL: nats.url }, dir);

describe.each(modes)('each task in its own $isolation', ({ prefix, warning }) => {
  /** Said when the mode is a fallback, and only then. */
  const warned = (stderr: string) =>
    warning ? expect(stderr).toContain(warning) : expect(stderr).not.toContain('warning: tasks run');

  it("the issue's repro with --commit: each task's diff, commit and revert hold exactly its own file", async () => {
    const { dir } = await project(
      prefix,
      (s) => `- [ ] 1. Configure
  \`\`\`bash
  echo debug=1 > config.ini; touch ${s}/one-wrote; ${until(s, 'two-read')}
  \`\`\`
- [ ] 2. Notes
  - Depends: none
  \`\`\`bash
  ${until(s, 'one-wrote')}; if [ -e config.ini ]; then echo present; else echo absent; fi > seen.txt; touch ${s}/two-read; echo notes > NOTES.md
  \`\`\`
`,
    );
    await writeFile(join(dir, '.gitignore'), '.implement-agent/\n');
    await git(dir, 'init', '-q');
    await git(dir, 'add', '.');
    await git(dir, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.test', 'commit', '-qm', 'start');
    const { result, events } = await run(dir, '--commit');
    expect(result.exitCode, result.stderr).toBe(0);
    warned(result.stderr);
    const runId = events[0]!.runId;
    // Task 2 read config.ini while task 1 had written it in its view: it saw the folder from before.
    expect(await readFile(join(dir, 'seen.txt'), 'utf8')).toBe('absent\n');
    expect(await readFile(join(dir, 'config.ini'), 'utf8')).toBe('debug=1\n');
    const recorded = (task: string) =>
      ofType(events, 'TaskFilesChanged')
        .filter((e) => e.taskId === task)
        .flatMap((e) => e.data.files.map((f) => f.path));
    expect(recorded('1')).toEqual(['config.ini']);
    expect(recorded('2').sort()).toEqual(['NOTES.md', 'seen.txt']);
    for (const e of ofType(events, 'TaskFilesChanged')) expect(e.data.alongside).toEqual([]);
    const commitOf = (task: string) => ofType(events, 'TaskCompleted').find((e) => e.taskId === task)!.data.commit!;
    const files = (commit: string) => git(dir, 'show', '--name-only', '--format=', commit);
    expect(await files(commitOf('1'))).toBe('config.ini');
    expect((await files(commitOf('2'))).split('\n').sort()).toEqual(['NOTES.md', 'seen.txt']);
    const diff1 = JSON.parse((await cli(['diff', runId, '1', '--json'], dir)).stdout) as { files: { path: string }[] };
    expect(diff1.files.map((f) => f.path)).toEqual(['config.ini']);
    const reverted = await cli(['revert', runId, '2'], dir);
    expect(reverted.exitCode, reverted.stderr).toBe(0);
    expect(await gone(join(dir, 'NOTES.md'))).toBe(true);
    expect(await readFile(join(dir, 'config.ini'), 'utf8')).toBe('debug=1\n');
    // The views are gone with their tasks.
    expect(await gone(join(dir, '.implement-agent', 'views', runId))).toBe(true);
  });

  it('a failed task alongside a successful one leaves nothing, and the other lands', async () => {
    const { dir } = await project(
      prefix,
      (s) => `- [ ] 1. Break
  \`\`\`bash
  echo half > broken.txt; rm keep.txt; touch ${s}/broke; ${until(s, 'landed')}; exit 3
  \`\`\`
- [ ] 2. Land
  - Depends: none
  \`\`\`bash
  ${until(s, 'broke')}; echo ok > ok.txt; touch ${s}/landed
  \`\`\`
`,
    );
    await writeFile(join(dir, 'keep.txt'), 'mine\n');
    const { result, events } = await run(dir);
    expect(result.exitCode).toBe(1);
    warned(result.stderr);
    expect(await readFile(join(dir, 'ok.txt'), 'utf8')).toBe('ok\n');
    expect(await gone(join(dir, 'broken.txt'))).toBe(true);
    expect(await readFile(join(dir, 'keep.txt'), 'utf8')).toBe('mine\n');
    expect(ofType(events, 'TaskRolledBack').map((e) => [e.taskId, e.data])).toEqual([
      ['1', { restored: [], kept: [], discarded: true }],
    ]);
    // What it tried stays in the log.
    const shown = await cli(['diff', events[0]!.runId, '1'], dir);
    expect(shown.stdout).toContain('+half');
    expect(shown.stdout).toContain('deleted file mode 100644');
  });

  const sameFile = (s: string) => `- [ ] 1. One
  \`\`\`bash
  echo one >> shared.txt; touch ${s}/one; ${until(s, 'two')}
  \`\`\`
- [ ] 2. Two
  - Depends: none
  \`\`\`bash
  echo two >> shared.txt; touch ${s}/two; ${until(s, 'one')}
  \`\`\`
`;

  it('two tasks writing one file: one merges, the other is a conflict naming it, nothing of it applied', async () => {
    const { dir } = await project(prefix, sameFile, { onConflict: 'fail' });
    await writeFile(join(dir, 'shared.txt'), 'start\n');
    const { result, events } = await run(dir);
    expect(result.exitCode).toBe(1);
    const [done] = ofType(events, 'TaskCompleted');
    const [failed] = ofType(events, 'TaskFailed');
    const winner = done!.taskId!;
    expect(failed!.data).toMatchObject({
      stage: 'conflict',
      conflicts: [{ path: 'shared.txt', by: `task ${winner}` }],
    });
    expect(failed!.data.reason).toContain('shared.txt');
    expect(await readFile(join(dir, 'shared.txt'), 'utf8')).toBe(`start\n${winner === '1' ? 'one' : 'two'}\n`);
  });

  it('with onConflict retry, the loser runs again on the new state and both changes are there', async () => {
    const { dir } = await project(prefix, sameFile, { onConflict: 'retry' });
    await writeFile(join(dir, 'shared.txt'), 'start\n');
    const { result, events } = await run(dir);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = (await readFile(join(dir, 'shared.txt'), 'utf8')).split('\n');
    expect(lines.sort()).toEqual(['', 'one', 'start', 'two']);
    // The retried task's diff is its second run only: its own line.
    const retried = ofType(events, 'TaskRolledBack')[0]!.taskId!;
    // Said as it happens (the progress line reads it): the path, the task that merged it first, which run of how many.
    expect(ofType(events, 'TaskRolledBack')[0]!.data.rerun).toEqual({
      attempt: 1,
      of: 2,
      conflicts: [{ path: 'shared.txt', by: `task ${retried === '1' ? '2' : '1'}` }],
    });
    const diff = await cli(['diff', events[0]!.runId, retried], dir);
    expect(diff.stdout.match(/^\+(one|two)$/gm)).toEqual([`+${retried === '1' ? 'one' : 'two'}`]);
  });
});

describe('a copy chosen outright', () => {
  it('execution.isolation "copy" chooses the copy where an overlay could be had', async () => {
    const plain = await mkdtemp(join(tmpdir(), 'ia-copy-'));
    syncs.push(plain);
    await writeFile(
      join(plain, 'tasks.md'),
      // What is mounted at the folder's path, as the command sees it: the copy, bound there.
      '- [ ] 1. Write\n  ```bash\n  awk -v d="$PWD" \'$5 == d { print $4 }\' /proc/self/mountinfo > mount.txt\n  ```\n',
    );
    await writeFile(join(plain, 'implement-agent.config.json'), JSON.stringify({ execution: { isolation: 'copy' } }));
    const { result, events } = await run(plain);
    expect(result.exitCode, result.stderr).toBe(0);
    // Chosen, not fallen back to: nothing to warn of.
    expect(result.stderr).not.toContain('warning: tasks run');
    const runId = events[0]!.runId;
    expect(await readFile(join(plain, 'mount.txt'), 'utf8')).toMatch(new RegExp(`/views/${runId}/1/copy\n$`));
    expect(ofType(events, 'TaskFilesChanged').flatMap((e) => e.data.files.map((f) => f.path))).toEqual(['mount.txt']);
  });
});

describe('where neither an overlay nor a copy can be had', () => {
  it('tasks share the folder, and the warning says why and what that loses', async () => {
    // A comma in the folder's path: mount(8) would split the overlay's options on it.
    const dir = await mkdtemp(join(tmpdir(), 'ia,shared-'));
    syncs.push(dir);
    const sync = await mkdtemp(join(tmpdir(), 'ia-sync-'));
    syncs.push(sync);
    await writeFile(
      join(dir, 'tasks.md'),
      `- [ ] 1. Write
  \`\`\`bash
  echo half > half.txt; touch ${sync}/one; ${until(sync, 'two')}
  \`\`\`
- [ ] 2. Read
  - Depends: none
  \`\`\`bash
  ${until(sync, 'one')}; cat half.txt > seen.txt; touch ${sync}/two
  \`\`\`
`,
    );
    // A tree past the copy's limits (tasks.md and the config are two files): the copy is not made either.
    await writeFile(
      join(dir, 'implement-agent.config.json'),
      JSON.stringify({ sandbox: { writable: [sync] }, execution: { copyLimits: { maxFiles: 1 } } }),
    );
    const { result } = await run(dir);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      `warning: tasks run in the shared folder, not in views of their own: an overlay cannot be mounted with a comma, colon, backslash or newline in its path: ${dir}; nor a copy: ${dir} holds more than 1 files (execution.copyLimits.maxFiles); tasks side by side see each other's unfinished files`,
    );
    // Said once per run, not per task.
    expect(result.stderr.split('shared folder, not in views').length).toBe(2);
    // What the warning says is lost: task 2 read task 1's unfinished file.
    expect(await readFile(join(dir, 'seen.txt'), 'utf8')).toBe('half\n');
  });
});
