import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.ts';
import { REPO_ROOT } from '../helpers/nats.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** The shell of one step of the workflow in docs/ci.md, by the step's name: its `run: |` block, unindented. */
function stepScript(doc: string, name: string): string {
  const workflow = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!.split('\n');
  const at = workflow.findIndex((l) => l.trim() === `- name: ${name}`);
  const run = workflow.findIndex((l, i) => i > at && l.trim() === 'run: |');
  const indent = workflow[run]!.indexOf('run') + 2;
  const body: string[] = [];
  for (const line of workflow.slice(run + 1)) {
    if (line.trim() && line.search(/\S/) < indent) break;
    body.push(line.slice(indent));
  }
  return body.join('\n');
}

const TASKS = `# Feature
- [ ] 1. Write the greeting
  \`\`\`bash
  printf 'hello\\n' > greeting.txt
  \`\`\`
- [ ] 2. Write the farewell
  \`\`\`bash
  printf 'bye\\n' > farewell.txt
  \`\`\`
`;

describe('the CI recipe of docs/ci.md', () => {
  it("runs its steps in a fresh repository: a commit per task, the report, and the job's exit code", async () => {
    const doc = await readFile(join(REPO_ROOT, 'docs/ci.md'), 'utf8');
    const dir = await mkdtemp(join(tmpdir(), 'ia-ci-'));
    dirs.push(dir);
    // The installed CLI, as `npm install -g` puts it on PATH: here, this checkout's.
    const bin = join(dir, '.bin');
    await mkdir(bin);
    await writeFile(join(bin, 'implement-agent'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await chmod(join(bin, 'implement-agent'), 0o755);
    const repo = join(dir, 'repo');
    await mkdir(join(repo, 'specs/feature'), { recursive: true });
    await writeFile(join(repo, 'specs/feature/tasks.md'), TASKS);
    await writeFile(join(repo, '.gitignore'), '.bin\n');
    const git = (...args: string[]) => execa('git', args, { cwd: repo });
    await git('init', '-q', '-b', 'feature');
    await git('add', '.');
    await git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'the task list');

    const outputs = join(dir, 'github-output');
    const env: Record<string, string> = {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: dir,
      TASKS: 'specs/feature/tasks.md',
      GITHUB_OUTPUT: outputs,
    };
    const run = await execa('bash', ['-e', '-c', stepScript(doc, 'Run the task list')], {
      cwd: repo,
      env,
      extendEnv: false,
      reject: false,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await readFile(outputs, 'utf8')).toBe('code=0\n');
    expect(await readFile(join(repo, 'implement-agent-report.html'), 'utf8')).toContain('<html');
    const events = (await readFile(join(repo, 'events.ndjson'), 'utf8')).trim().split('\n');
    expect((JSON.parse(events.at(-1)!) as { type: string }).type).toBe('RunFinished');
    const log = (await git('log', '--format=%s')).stdout.split('\n');
    expect(log.length).toBe(3);
    expect((await git('show', '--stat', '--format=', 'HEAD~1')).stdout).toContain('greeting.txt');
    expect((await git('show', '--stat', '--format=', 'HEAD')).stdout).toContain('farewell.txt');

    const verdict = (code: string) =>
      execa('bash', ['-e', '-c', stepScript(doc, 'Fail on the exit code')], { env: { CODE: code }, reject: false });
    expect((await verdict('0')).exitCode).toBe(0);
    for (const code of ['1', '2', '3', '4', '5']) expect((await verdict(code)).exitCode).toBe(Number(code));
    expect((await verdict('130')).exitCode).toBe(1);
  }, 180_000);
});
