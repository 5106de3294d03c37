import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, printed } from '../helpers/cli.ts';
import { gate } from '../helpers/outside.ts';

/**
 * The state of a project at its root, as a user meets it: no NATS_URL, a git repository, commands
 * typed in a subfolder, and a second terminal while a run goes.
 */
const dirs: string[] = [];
const started: ResultPromise[] = [];
afterAll(async () => {
  for (const p of started) if (p.pid !== undefined && p.exitCode === null) p.kill('SIGKILL');
  await Promise.allSettled(started);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
const env = { NO_COLOR: '1', NATS_URL: '' };
const cli = (args: string[], cwd: string) =>
  execa(process.execPath, [CLI, ...args], { cwd, env, reject: false, timeout: 120_000 });
const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd });

/** A git repository with specs/tasks.md committed. */
async function repository(tasks: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-home-'));
  dirs.push(dir);
  await mkdir(join(dir, 'specs'));
  await writeFile(join(dir, 'specs', 'tasks.md'), tasks);
  await git(dir, 'init', '-q');
  await git(dir, 'config', 'user.name', 't');
  await git(dir, 'config', 'user.email', 't@t');
  await git(dir, 'add', '.');
  await git(dir, 'commit', '-qm', 'tasks');
  return dir;
}

/** Resolves with the first match of `pattern` in what `stream` printed so far and prints next. */
describe('state at the project root', () => {
  it('a run makes .implement-agent/ at the git root, out of git status, and a subfolder finds it', async () => {
    const dir = await repository('- [ ] 1. Say hello\n  ```bash\n  echo hello > hello.txt\n  ```\n');
    const run = await cli(['run', 'specs/tasks.md'], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    const runId = /^run (r\w+)/m.exec(run.stdout)![1]!;
    expect(await readFile(join(dir, '.implement-agent', '.gitignore'), 'utf8')).toBe('*\n');
    expect((await git(dir, 'status', '--porcelain', '--untracked-files=all')).stdout.split('\n').sort()).toEqual([
      ' M specs/tasks.md',
      '?? hello.txt',
    ]);
    const runs = await cli(['runs'], join(dir, 'specs'));
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(new RegExp(`^${runId} +succeeded +1/1 done`, 'm'));
    const status = await cli(['status', runId], join(dir, 'specs'));
    expect(status.stdout).toMatch(new RegExp(`^run ${runId} succeeded`));
    expect(existsSync(join(dir, 'specs', '.implement-agent'))).toBe(false);
    // --commit names what was dirty before the run: the tool's own folder is never among them.
    const again = await cli(['run', 'tasks.md', '--force', '--commit'], join(dir, 'specs'));
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/not committed by this run \(changed before it started\): /);
    expect(again.stderr).not.toContain('.implement-agent');
  }, 180_000);

  it('a read command where no run was made makes nothing, and says where a run would', async () => {
    const dir = await repository('- [ ] 1. x\n');
    for (const args of [['runs'], ['status', 'r1'], ['watch'], ['report', 'r1'], ['diff', 'r1']]) {
      const r = await cli(args, join(dir, 'specs'));
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(
        `no .implement-agent/ in ${join(dir, 'specs')} or above: no run was made in this project yet (\`implement-agent run <tasks.md>\` makes one at ${dir})`,
      );
    }
    expect(existsSync(join(dir, '.implement-agent'))).toBe(false);
    expect(existsSync(join(dir, 'specs', '.implement-agent'))).toBe(false);
  });

  it("an earlier version's store in the current folder is still used, with how to move it", async () => {
    const dir = await repository('- [ ] 1. Say hello\n  ```bash\n  echo hello\n  ```\n');
    const specs = join(dir, 'specs');
    const run = await cli(['run', 'tasks.md', '--workdir', specs], specs);
    expect(run.exitCode, run.stderr).toBe(0);
    // As an earlier version left it: the store in the folder the run was typed in.
    await execa('mv', [join(dir, '.implement-agent'), specs]);
    const runs = await cli(['runs'], specs);
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(/succeeded +1\/1 done/);
    expect(runs.stderr).toContain(
      `using the state in ${specs}/.implement-agent, where an earlier version kept it; it now belongs at the project root: \`mv ${specs}/.implement-agent ${dir}/\` moves it`,
    );
  });
});

describe('a second terminal while a run goes', () => {
  it('runs, status and watch show the run live, and a second run waits its turn, with no variable set', async () => {
    const go = await gate();
    dirs.push(go.dir);
    const dir = await repository(`- [ ] 1. Wait for the go\n  \`\`\`bash\n  ${go.wait}\n  \`\`\`\n`);
    await writeFile(join(dir, 'specs', 'more.md'), '- [ ] 1. Say more\n  ```bash\n  echo more\n  ```\n');
    const first = execa(process.execPath, [CLI, 'run', 'specs/tasks.md'], { cwd: dir, env, reject: false });
    started.push(first);
    await printed(first.stdout, /▶ 1\. Wait for the go/);
    const runs = await cli(['runs'], join(dir, 'specs'));
    expect(runs.exitCode, runs.stderr).toBe(0);
    const runId = /^(r\w+) +unfinished +0\/1 done/m.exec(runs.stdout)?.[1];
    expect(runId, runs.stdout).toBeDefined();
    const status = await cli(['status', runId!], dir);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/Wait for the go/);

    const watch = execa(process.execPath, [CLI, 'watch'], { cwd: join(dir, 'specs'), env, reject: false });
    started.push(watch);
    await printed(watch.stderr, new RegExp(`following run ${runId} \\(`));
    const second = execa(process.execPath, [CLI, 'run', 'specs/more.md'], { cwd: dir, env, reject: false });
    started.push(second);
    await printed(second.stderr, /waiting for implement-agent \(pid \d+\) to finish its run on /);

    await go.open();
    expect((await first).exitCode).toBe(0);
    const watched = await watch;
    expect(watched.exitCode, watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/RunFinished/);
    const after = await second;
    expect(after.exitCode, after.stderr).toBe(0);
    expect(await readFile(join(dir, 'specs', 'more.md'), 'utf8')).toMatch(/^- \[x\] 1\. Say more/);
    // Two runs one after the other, and four commands beside them.
  }, 180_000);
});
