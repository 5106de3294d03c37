import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ofType, runCli } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';

/**
 * Where no overlay can be had, each task runs in a copy of the folder (#36 item 1): triggered for
 * real by a comma in the project's path, which an overlay's mount options cannot hold. The real
 * CLI, bubblewrap, git and a nats-server, tasks side by side at the default concurrency; they
 * meet through a folder outside the project, so the order, not timing, decides what they see.
 */
const nats = natsPerSuite();
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const git = (dir: string, ...args: string[]) => execa('git', ['-C', dir, ...args]).then((r) => r.stdout);
const cli = (args: string[], cwd: string) =>
  execa(process.execPath, [CLI, ...args], { reject: false, cwd, env: { NATS_URL: nats.url }, timeout: 120_000 });
const gone = (path: string) =>
  stat(path).then(
    () => false,
    () => true,
  );
const until = (sync: string, name: string) => `until [ -e ${sync}/${name} ]; do sleep 0.05; done`;
const COPY_WARNING =
  'warning: tasks run in copies of the folder, not in views of their own: an overlay cannot be mounted with a comma';

/** A project in a folder whose path holds a comma, its tasks sharing `sync` (outside it). */
async function project(tasks: (sync: string) => string, execution: Record<string, unknown> = {}) {
  const [dir, sync] = await Promise.all([mkdtemp(join(tmpdir(), 'ia,copies-')), mkdtemp(join(tmpdir(), 'ia-sync-'))]);
  dirs.push(dir, sync);
  await writeFile(join(dir, 'tasks.md'), tasks(sync));
  await writeFile(
    join(dir, 'implement-agent.config.json'),
    JSON.stringify({ sandbox: { writable: [sync] }, execution: { commandTimeoutMs: 60_000, ...execution } }),
  );
  return { dir, sync };
}

const run = (dir: string, ...args: string[]) => runCli(['run', 'tasks.md', ...args], { NATS_URL: nats.url }, dir);

describe('each task in its own copy, where no overlay can be had', () => {
  it("the issue's repro with --commit: each task's diff, commit and revert hold exactly its own file", async () => {
    const { dir } = await project(
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
    expect(result.stderr).toContain(COPY_WARNING);
    expect(result.stderr).not.toContain('shared folder');
    const runId = events[0]!.runId;
    // Task 2 read config.ini while task 1 had written it in its copy: it saw the folder from before.
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
    // The copies are gone with their tasks.
    expect(await gone(join(dir, '.implement-agent', 'views', runId))).toBe(true);
  });

  it('a failed task alongside a successful one leaves nothing, and the other lands', async () => {
    const { dir } = await project(
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
    expect(result.stderr).toContain(COPY_WARNING);
    expect(await readFile(join(dir, 'ok.txt'), 'utf8')).toBe('ok\n');
    expect(await gone(join(dir, 'broken.txt'))).toBe(true);
    expect(await readFile(join(dir, 'keep.txt'), 'utf8')).toBe('mine\n');
    expect(ofType(events, 'TaskRolledBack').map((e) => [e.taskId, e.data])).toEqual([
      ['1', { restored: [], kept: [], discarded: true }],
    ]);
    const shown = await cli(['diff', events[0]!.runId, '1'], dir);
    expect(shown.stdout).toContain('+half');
    expect(shown.stdout).toContain('deleted file mode 100644');
  });

  it('two tasks writing one file: one merges, the other is a conflict naming it, nothing of it applied', async () => {
    const { dir } = await project(
      (s) => `- [ ] 1. One
  \`\`\`bash
  echo one >> shared.txt; echo one > one.txt; touch ${s}/one; ${until(s, 'two')}
  \`\`\`
- [ ] 2. Two
  - Depends: none
  \`\`\`bash
  echo two >> shared.txt; echo two > two.txt; touch ${s}/two; ${until(s, 'one')}
  \`\`\`
`,
      { onConflict: 'fail' },
    );
    await writeFile(join(dir, 'shared.txt'), 'start\n');
    const { result, events } = await run(dir);
    expect(result.exitCode).toBe(1);
    const [done] = ofType(events, 'TaskCompleted');
    const [failed] = ofType(events, 'TaskFailed');
    const [winner, loser] = done!.taskId === '1' ? (['1', '2'] as const) : (['2', '1'] as const);
    expect(failed!.data).toMatchObject({
      stage: 'conflict',
      conflicts: [{ path: 'shared.txt', by: `task ${winner}` }],
    });
    const words = { '1': 'one', '2': 'two' } as const;
    expect(await readFile(join(dir, 'shared.txt'), 'utf8')).toBe(`start\n${words[winner]}\n`);
    expect(await gone(join(dir, `${words[loser]}.txt`))).toBe(true);
  });

  it('execution.isolation "copy" chooses the copy where an overlay could be had', async () => {
    const plain = await mkdtemp(join(tmpdir(), 'ia-copy-'));
    dirs.push(plain);
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
