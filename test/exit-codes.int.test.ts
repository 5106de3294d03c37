import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/exit-codes.ts';
import { CLI, ofType, runCli, workspaces } from './helpers/cli.ts';
import { startFakeLlm } from './helpers/fake-llm.ts';
import { natsPerSuite } from './helpers/nats.ts';

const nats = natsPerSuite();
const spaces = workspaces();
afterAll(() => spaces.cleanup());

/** Five tasks, each after the one before and each writing its file. */
const FIVE = Array.from(
  { length: 5 },
  (_, i) => `- [ ] ${i + 1}. Write ${i + 1}.txt\n  \`\`\`bash\n  printf '${i + 1}' > ${i + 1}.txt\n  \`\`\`\n`,
).join('');
const ticked = (text: string) => [...text.matchAll(/- \[x\] (\d)\./g)].map((m) => m[1]);

describe('exit codes', () => {
  it('--pause-after 2 on a 5-task list stops after 2 as interrupted (130), and resume finishes it (0)', async () => {
    const { dir, tasks } = await spaces.make(FIVE);
    const env = { NATS_URL: nats.url };
    const paused = await runCli(['run', tasks, '--workdir', dir, '--pause-after', '2'], env, dir);
    expect(paused.result.exitCode, paused.result.stderr).toBe(EXIT.interrupted);
    expect(ofType(paused.events, 'TaskCompleted').map((e) => e.taskId)).toEqual(['1', '2']);
    expect(ofType(paused.events, 'RunInterrupted').map((e) => e.data.reason)).toEqual([
      'paused for review after 2 completed task(s) (--pause-after 2)',
    ]);
    expect(ticked(await readFile(tasks, 'utf8'))).toEqual(['1', '2']);
    const runId = paused.events[0]!.runId;
    expect(paused.result.stderr).toContain(`continue it with: implement-agent resume ${runId}`);
    // What it changed so far is there to review.
    const diff = await execa(process.execPath, [CLI, 'diff', runId, '--stat'], { env, cwd: dir });
    expect(diff.stdout).toMatch(/1\.txt[\s\S]*2\.txt/);

    const resumed = await runCli(['resume', runId], env, dir);
    expect(resumed.result.exitCode, resumed.result.stderr).toBe(EXIT.ok);
    // Its output starts with the run so far; after the resume, only the three left ran.
    const after = resumed.events.slice(resumed.events.findIndex((e) => e.type === 'RunResumed'));
    expect(ofType(after, 'TaskCompleted').map((e) => e.taskId)).toEqual(['3', '4', '5']);
    expect(ticked(await readFile(tasks, 'utf8'))).toEqual(['1', '2', '3', '4', '5']);
  }, 120_000);

  it('a task completed unverified (an LLM fix did the work of its command, no criterion checks it) is 3: not success, not ticked, not committed, its dependants not started', async () => {
    const llm = await startFakeLlm({
      responder: () =>
        JSON.stringify({
          diagnosis: 'the flag is missing',
          action: 'fix',
          commands: ['touch needed.flag'],
          retry: false,
        }),
    });
    try {
      const { dir, tasks } = await spaces.make(
        [
          '- [ ] 1. Needs a flag\n  ```bash\n  test -f needed.flag || { echo "E44: no flag" >&2; exit 44; }\n  ```',
          '- [ ] 2. Builds on it\n  ```bash\n  echo built > built.txt\n  ```',
          '- [ ] 3. Independent\n  - Depends: none\n  ```bash\n  echo free > free.txt\n  ```\n',
        ].join('\n'),
      );
      const git = (...args: string[]) => execa('git', ['-C', dir, ...args]).then((r) => r.stdout);
      await git('init', '-q');
      await git('config', 'user.email', 'dev@example.test');
      await git('config', 'user.name', 'Dev');
      await git('add', '.');
      await git('commit', '-qm', 'start');
      const env = { NATS_URL: nats.url, OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'k' };
      const run = await runCli(['run', tasks, '--workdir', dir, '--llm', 'openai', '--commit'], env, dir);
      expect(run.result.exitCode, run.result.stderr).toBe(EXIT.unverified);
      const completed = ofType(run.events, 'TaskCompleted');
      expect(completed.map((e) => [e.taskId, e.data.evidence, e.data.commit !== undefined])).toEqual(
        expect.arrayContaining([
          ['1', 'none', false],
          ['3', 'commands', true],
        ]),
      );
      // Task 2 waits on 1: it is skipped saying why, once (one outcome), and its file is not made.
      expect(ofType(run.events, 'TaskSkipped').map((e) => [e.taskId, e.data.reason])).toEqual([
        ['2', expect.stringMatching(/^task 1 completed unverified \(nothing showed it did its work\)/)],
      ]);
      expect(ofType(run.events, 'TaskFailed')).toEqual([]);
      expect(ofType(run.events, 'RunFinished')[0]!.data).toMatchObject({
        status: 'unverified',
        completed: ['3'],
        unverified: ['1'],
        failed: [],
        skipped: ['2'],
      });
      expect(await readFile(tasks, 'utf8')).toMatch(/- \[ \] 1\. Needs a flag[\s\S]*- \[ \] 2\.[\s\S]*- \[x\] 3\./);
      // One commit, task 3's: nothing of the unverified task is committed as done.
      expect((await git('log', '--format=%s')).split('\n')).toEqual(['Independent', 'start']);
      const status = await execa(process.execPath, [CLI, 'status', run.events[0]!.runId, '--json'], { env, cwd: dir });
      const shown = JSON.parse(status.stdout) as {
        state: string;
        unverified: number;
        tasks: { id: string; state: string }[];
      };
      expect(shown).toMatchObject({ state: 'unverified', unverified: 1 });
      expect(shown.tasks.map((t) => [t.id, t.state])).toEqual([
        ['1', 'unverified'],
        ['2', 'skipped'],
        ['3', 'completed'],
      ]);
    } finally {
      await llm.close();
    }
  }, 120_000);

  it('a task that fails is 1, bad input 2, an unreachable NATS 5', async () => {
    const { dir, tasks } = await spaces.make('- [ ] 1. Fail\n  ```bash\n  exit 3\n  ```\n');
    expect((await runCli(['run', tasks, '--workdir', dir], { NATS_URL: nats.url }, dir)).result.exitCode).toBe(
      EXIT.taskFailed,
    );
    expect((await runCli(['run', tasks, '--task-concurrency', '0'], { NATS_URL: nats.url }, dir)).result.exitCode).toBe(
      EXIT.badInput,
    );
    const dead = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: 'nats://127.0.0.1:1' }, dir);
    expect(dead.result.exitCode).toBe(EXIT.infrastructure);
    expect(dead.result.stderr).toMatch(/cannot connect to NATS at nats:\/\/127.0.0.1:1/);
    expect(dead.result.stderr).toMatch(/\(given by -s\/--server, NATS_URL or natsUrl in the config\)/);
  }, 120_000);
});
