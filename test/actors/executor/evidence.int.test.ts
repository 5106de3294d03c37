import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../src/exit-codes.ts';
import { ofType, runCli } from '../../helpers/cli.ts';
import { natsPerSuite } from '../../helpers/nats.ts';

/**
 * A tick only on evidence (#36), with the real CLI, a real nats-server, real bubblewrap and real
 * git: a failure called benign only when the state shows the command's intent holds, and an
 * output check that needs its command to succeed.
 */
const nats = natsPerSuite();
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** A git repository with one committed file, and a task list beside it (not in it: ticking it would dirty the tree). */
async function project(tasks: string) {
  const root = await mkdtemp(join(tmpdir(), 'ia-evidence-'));
  dirs.push(root);
  const repo = join(root, 'repo');
  await mkdir(repo);
  const git = (...args: string[]) => execa('git', ['-C', repo, ...args]).then((r) => r.stdout);
  await git('init', '-q', '-b', 'main');
  await git('config', 'user.email', 'dev@example.test');
  await git('config', 'user.name', 'Dev');
  await writeFile(join(repo, 'VERSION'), '1\n');
  await git('add', 'VERSION');
  await git('commit', '-qm', 'version 1');
  const file = join(root, 'tasks.md');
  await writeFile(file, tasks);
  const run = () =>
    runCli(['run', file, '--workdir', repo, '--llm', 'offline', '--force'], { NATS_URL: nats.url }, root);
  return { repo, file, git, run };
}

describe('benign only when the state shows it', () => {
  it('a `git commit` with the change left unstaged ("no changes added to commit") fails the task; nothing was committed', async () => {
    const p = await project(
      '- [ ] 1. Bump version to 2\n  ```bash\n  echo 2 > VERSION\n  git commit -m "Bump version to 2"\n  ```\n',
    );
    const { result, events } = await p.run();
    expect(result.exitCode, result.stderr).toBe(EXIT.taskFailed);
    const attempted = ofType(events, 'RecoveryAttempted');
    expect(attempted.map((e) => e.data.strategyId)).toContain('git-nothing-to-commit/benign');
    // The state check ran confined (bubblewrap), in the task's folder, and said no.
    const check = ofType(events, 'CommandFinished').find((e) => e.data.purpose === 'check')!;
    expect(check.data).toMatchObject({ command: 'test -z "$(git status --porcelain)"', exitCode: 1 });
    const started = ofType(events, 'CommandStarted').find((e) => e.data.commandId === check.data.commandId)!;
    expect(started.data.confinement).toMatch(/^bwrap /);
    expect(ofType(events, 'RecoveryFailed').map((e) => e.data.reason)).toContain(
      'not benign: the state does not show it (`test -z "$(git status --porcelain)"` exited 1)',
    );
    expect(ofType(events, 'TaskCompleted')).toEqual([]);
    expect(await readFile(p.file, 'utf8')).toContain('- [ ] 1.');
    expect(await p.git('log', '--format=%s')).toBe('version 1');
  }, 120_000);

  it('the same commit on a clean tree ("nothing to commit, working tree clean") is benign: the work is there', async () => {
    const p = await project('- [ ] 1. Commit the version\n  ```bash\n  git commit -m "Version 1"\n  ```\n');
    const { result, events } = await p.run();
    expect(result.exitCode, result.stderr).toBe(EXIT.ok);
    expect(ofType(events, 'RecoveryResolved').map((e) => e.data.strategyId)).toEqual(['git-nothing-to-commit/benign']);
    expect(ofType(events, 'CommandFinished').find((e) => e.data.purpose === 'check')!.data.exitCode).toBe(0);
    expect(await readFile(p.file, 'utf8')).toContain('- [x] 1.');
  }, 120_000);
});

describe('an output check needs its command to succeed', () => {
  it('fails a task whose check command prints the expected text and exits non-zero', async () => {
    const p = await project(
      [
        '- [ ] 1. Add the stats module',
        '  - Success: `python3 -m textstats` outputs textstats',
        '  ```bash',
        '  echo "# stats" > NOTES.md',
        '  ```',
        '',
      ].join('\n'),
    );
    const { result, events } = await p.run();
    expect(result.exitCode, result.stderr).toBe(EXIT.taskFailed);
    // The interpreter's own error names the module: the text is there, the command crashed.
    const check = ofType(events, 'CommandFinished').find((e) => e.data.purpose === 'check')!;
    expect(check.data.exitCode).toBe(1);
    expect(`${check.data.stdoutTail}${check.data.stderrTail}`).toContain('textstats');
    expect(ofType(events, 'TaskFailed')[0]!.data).toMatchObject({
      stage: 'verification',
      reason: 'success criterion not met: `python3 -m textstats` printed "textstats" but exited 1, expected 0',
    });
    expect(await readFile(p.file, 'utf8')).toContain('- [ ] 1.');
  }, 120_000);
});
