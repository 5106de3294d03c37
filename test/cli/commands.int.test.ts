import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/nats/local-server.ts';
import { CLI, printed, workspaces } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { gate } from '../helpers/outside.ts';

/** The commands around a run, as a user types them: runs, status, watch, up, bad flags. */
const server = natsPerSuite();
const ws = workspaces();
const gates: Awaited<ReturnType<typeof gate>>[] = [];
afterAll(async () => {
  await Promise.all(gates.map((g) => g.remove()));
  await ws.cleanup();
});
const cli = (args: string[], env: Record<string, string> = { NATS_URL: server.url }, cwd?: string) =>
  execa(process.execPath, [CLI, ...args], {
    reject: false,
    env: { NO_COLOR: '1', ...env },
    timeout: 120_000,
    ...(cwd ? { cwd } : {}),
  });

const TWO_TASKS =
  '- [ ] 1. Works\n  ```bash\n  echo ok\n  ```\n- [ ] 2. Lists a missing folder\n  - Depends:\n  ```bash\n  ls no-such-folder\n  ```\n';

describe('after a run', () => {
  it('names each failed task with its reason and points at report and status; runs and status show it', async () => {
    const { dir, tasks } = await ws.make(TWO_TASKS);
    const run = await cli(['run', tasks, '--workdir', dir], undefined, dir);
    expect(run.exitCode).toBe(1);
    const runId = /^run (r\w+):/m.exec(run.stdout)![1]!;
    expect(run.stdout).toMatch(/run failed: 1 completed, 1 failed, 0 skipped/);
    expect(run.stdout).toMatch(
      /^ +✗ 2\. Lists a missing folder: \w+: `ls no-such-folder` exited 2: ls: cannot access 'no-such-folder': No such file or directory/m,
    );
    expect(run.stdout.trim().split('\n').at(-1)).toBe(
      `timeline: implement-agent report ${runId}    tasks: implement-agent status ${runId}`,
    );

    const runs = await cli(['runs', '--limit', '5']);
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(runs.stdout.split('\n')[0]).toMatch(/^RUN +STATUS +TASKS +STARTED \(UTC\) +TOOK +LLM TOKENS +TASKS FILE$/);
    expect(runs.stdout).toMatch(
      new RegExp(
        `^${runId} +failed +1/2 done, 1 failed +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +[\\d.]+s +0 +${tasks}$`,
        'm',
      ),
    );
    const json = (await cli(['runs', '--json'])).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { runId: string; state: string });
    expect(json.find((r) => r.runId === runId)).toMatchObject({ state: 'failed', completed: 1, failed: 1, tasks: 2 });

    const status = await cli(['status', runId]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^run ${runId} failed: 1/2 done, 1 failed, 0 skipped`));
    expect(status.stdout).toMatch(/^ +completed +1\. Works/m);
    expect(status.stdout).toMatch(
      /^ +failed +2\. Lists a missing folder [\d.]+s: `ls no-such-folder` exited 2: ls: cannot access/m,
    );
    // By default into the state folder, not among the project's files.
    const byDefault = await cli(['report', runId]);
    expect(byDefault.exitCode, byDefault.stderr).toBe(0);
    expect(byDefault.stdout.trim()).toMatch(new RegExp(`/\\.implement-agent/reports/${runId}\\.html$`));
    expect(readFileSync(byDefault.stdout.trim(), 'utf8')).toContain('<html');
    const report = await cli(['report', runId, '--out', '/nonexistent-folder/report.html']);
    expect(report.exitCode).toBe(2);
    // This suite's server asks for no credentials, which the CLI says first.
    expect(report.stderr).toMatch(/^implement-agent: warning: the NATS server at \S+ asks for no credentials/);
    expect(report.stderr.trim().split('\n').at(-1)).toBe(
      'implement-agent: cannot write the report to /nonexistent-folder/report.html: the folder /nonexistent-folder does not exist',
    );
    expect((await cli(['status', 'rnosuchrun'])).stderr).toMatch(
      /no events for run rnosuchrun in this log \(`implement-agent runs` lists the runs\)/,
    );
  });
});

describe('live progress on a terminal', () => {
  it('redraws the running task, its command, its time and its latest output line in place; plain lines when piped', async () => {
    const { dir, tasks } = await ws.make(
      '- [ ] 1. Count slowly\n  ```bash\n  for i in 1 2 3 4; do echo "step $i"; sleep 0.5; done\n  ```\n',
    );
    await writeFile(join(dir, 'implement-agent.config.json'), JSON.stringify({ execution: { heartbeatMs: 300 } }));
    // script(1) gives the CLI a pseudo-terminal of a known size, as a terminal would.
    const shell = `stty rows 40 cols 120; ${process.execPath} ${CLI} run ${tasks} --workdir ${dir}`;
    const tty = await execa('script', ['-qfec', shell, '/dev/null'], {
      cwd: dir,
      env: { NATS_URL: server.url, PATH: process.env.PATH ?? '' },
      reject: false,
      timeout: 120_000,
    });
    expect(tty.exitCode, tty.stdout).toBe(0);
    expect(tty.stdout).toContain('\u001b[2K');
    expect(tty.stdout).toMatch(/1\. Count slowly .*\d+s/);
    expect(tty.stdout).toMatch(/c1: for i in 1 2 3 4; do echo "step \$i"; sleep 0\.5; done \(\d+s\) › step \d/);
    expect(tty.stdout).toMatch(/✓.* 1\. Count slowly/);
    const piped = await cli(['run', tasks, '--workdir', dir, '--force'], undefined, dir);
    expect(piped.exitCode).toBe(0);
    expect(piped.stdout).not.toContain('\u001b[');
  });
});

describe('watch', () => {
  it('takes several types and a relative --since, and -s instead of NATS_URL', async () => {
    const { dir, tasks } = await ws.make(TWO_TASKS);
    const run = await cli(['run', tasks, '--workdir', dir], undefined, dir);
    const runId = /^run (r\w+):/m.exec(run.stdout)![1]!;
    const watch = cli(
      ['watch', '-s', server.url, '--since', '10m', '--type', 'TaskCompleted', '--type', 'TaskFailed'],
      {},
    );
    let seen = '';
    watch.stdout?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    await expect.poll(() => seen, { timeout: 30_000 }).toMatch(new RegExp(`${runId} 2 TaskFailed`));
    watch.kill('SIGINT');
    await watch;
    const lines = seen
      .trim()
      .split('\n')
      .filter((l) => l.includes(runId));
    // The two tasks run side by side: which ends first is the machine's choice.
    expect(lines.map((l) => l.split(' ').slice(3, 5).join(' ')).sort()).toEqual(['1 TaskCompleted', '2 TaskFailed']);
  });

  it('following one run, stops when the run finishes', async () => {
    // The task waits for a file the test writes once `watch` says it follows the run, so the run
    // cannot finish before it is watched however slow the machine.
    const go = await gate();
    gates.push(go);
    const { dir, tasks } = await ws.make(`- [ ] 1. Slow\n  \`\`\`bash\n  ${go.wait}\n  \`\`\`\n`);
    const run = cli(['run', tasks, '--workdir', dir, '--json'], undefined, dir);
    let runId = '';
    run.stdout?.on('data', (chunk: Buffer) => (runId ||= /"runId":"(r\w+)"/.exec(chunk.toString())?.[1] ?? ''));
    await expect.poll(() => runId, { timeout: 30_000 }).not.toBe('');
    const watching = cli(['watch', '--run', runId, '--type', 'RunFinished']);
    let said = '';
    watching.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    await expect.poll(() => said, { timeout: 60_000 }).toContain(`following run ${runId} until it finishes`);
    await go.open();
    const watch = await watching;
    expect(watch.exitCode).toBe(0);
    expect(watch.stdout, watch.stderr).toMatch(new RegExp(`${runId} - RunFinished succeeded`));
    expect((await run).exitCode).toBe(0);
    const again = await cli(['watch', '--run', runId]);
    expect(again.stderr).toMatch(/already finished \(succeeded\); --since start shows its events/);
    expect((await cli(['watch', '--type', 'NoSuchEvent'])).stderr).toMatch(
      /unknown event type "NoSuchEvent"; --type takes: RunStarted, /,
    );
  });
});

describe('flags and configuration a user gets wrong', () => {
  it('says what is wrong with a flag value, even a negative number', async () => {
    const { dir, tasks } = await ws.make(TWO_TASKS);
    const negative = await cli(['run', tasks, '--task-concurrency', '-1'], undefined, dir);
    expect(negative.exitCode).toBe(2);
    expect(negative.stderr.trim()).toBe(
      'implement-agent: --task-concurrency must be a positive whole number, not "-1"',
    );
    const old = await cli(['run', tasks, '--concurrency', '2'], undefined, dir);
    expect(old.exitCode).toBe(2);
    expect(old.stderr).toMatch(
      /--concurrency was split in two: --task-concurrency N \(tasks at once\) and --command-concurrency N/,
    );
    expect((await cli(['run', tasks, '--plan-ahead', 'lots'], undefined, dir)).stderr).toMatch(
      /--plan-ahead must be a whole number \(0 or more\), not "lots"/,
    );
    expect((await cli(['up', '--port', '99999'])).stderr).toMatch(/--port must be a TCP port \(1-65535\), not "99999"/);
  });

  it('an unreachable LLM is exit 5 naming its URL and what to set, before anything runs', async () => {
    const { dir, tasks } = await ws.make('- [ ] 1. Write a greeting file\n');
    const port = await freePort();
    const run = await cli(
      ['run', tasks, '--workdir', dir],
      { NATS_URL: server.url, OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, OPENAI_API_KEY: 'k' },
      dir,
    );
    expect(run.exitCode).toBe(5);
    expect(run.stderr.trim()).toBe(
      `implement-agent: the LLM at http://127.0.0.1:${port}/v1 cannot be reached (connect ECONNREFUSED 127.0.0.1:${port}): set OPENAI_BASE_URL (or llm.baseUrl in implement-agent.config.json) to a running OpenAI-compatible server, or run with --llm offline`,
    );
    expect(run.stdout).toBe('');
  });

  it('up --port listens where it is told, and exits 0 on SIGTERM however long it takes to stop', async () => {
    const { dir } = await ws.make('');
    const port = await freePort();
    // No SIGKILL 5 s after the SIGTERM (execa's default): on a loaded machine stopping takes longer.
    const up = execa(process.execPath, [CLI, 'up', '--port', String(port)], {
      cwd: dir,
      env: { NO_COLOR: '1' },
      reject: false,
      forceKillAfterDelay: false,
    });
    await printed(up.stdout, new RegExp(`NATS_URL=nats://127\\.0\\.0\\.1:${port}`));
    up.kill('SIGTERM');
    // A second signal while it drains changes nothing: it still ends with its own exit code.
    up.kill('SIGTERM');
    const ended = await up;
    expect([ended.signal, ended.exitCode], ended.stderr).toEqual([undefined, 0]);
  });
});

describe('task lists as people write them, through the CLI', () => {
  it('run --dry --json prints what the parser saw (ids, lines, criteria, warnings) without a server; warnings also go to a run', async () => {
    const { dir, tasks } = await ws.make(
      '1. [ ] Create the layout\n   ```bash\n   mkdir -p src\n   ```\n- [A] 2. Archived\n- [ ] 3. Check it\n  - Success: the layout looks right; `test -d src` passes\n  ```bash\n  true\n  ```\n- [ ] 3. Again\n  ```bash\n  true\n  ```\n\n- [Docs](https://example.com)\n',
    );
    // No NATS_URL and no local server needed: nothing is planned.
    const dry = await cli(['run', tasks, '--workdir', dir, '--dry', '--json'], { NATS_URL: 'nats://127.0.0.1:1' }, dir);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const parsed = JSON.parse(dry.stdout) as {
      tasks: { id: string; line: number; done: boolean; criteria: { checks: unknown[]; words: string[] } }[];
      warnings: { line: number; message: string }[];
    };
    expect(parsed.tasks.map((t) => [t.id, t.line, t.done])).toEqual([
      ['L1', 1, false],
      ['2', 5, true],
      ['3', 6, false],
      ['3@L11', 11, false],
    ]);
    expect(parsed.tasks[2]!.criteria).toEqual({
      checks: [{ kind: 'command', command: 'test -d src', exitCode: 0 }],
      words: ['the layout looks right', '`test -d src` passes'],
    });
    expect(parsed.warnings.map((w) => w.line)).toEqual([5, 11]);
    const human = await cli(['run', tasks, '--workdir', dir, '--dry', '--llm', 'offline'], undefined, dir);
    expect(human.stdout).toContain('criterion in words (for the planner to check): the layout looks right');
    expect(human.stderr).toContain(`${tasks}:5: warning: box [A]`);
    const run = await cli(['run', tasks, '--workdir', dir], undefined, dir);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain(`${tasks}:5: warning: box [A] is not one of`);
    expect(run.stderr).toContain(`${tasks}:11: warning: task number 3 is used again (first at line 6): read as 3@L11`);
    expect(run.stdout).toMatch(/run succeeded: 3 completed/);
  });
});

describe('a list with nothing left to do', () => {
  it('refuses a working directory that is a file, exit 2, before anything runs', async () => {
    const { dir, tasks } = await ws.make('- [ ] 1. A\n  ```bash\n  touch ran\n  ```\n');
    const r = await cli(['run', tasks, '--workdir', tasks], { NATS_URL: 'nats://127.0.0.1:1' }, dir);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`working directory ${tasks} is a file, not a folder`);
  });

  it('refuses a file with no task, exit 2, naming the likely mistake', async () => {
    const { dir, tasks } = await ws.make('# Plan\n\n- 1. Set up the project\n- 2. Write the code\n');
    const r = await cli(['run', tasks, '--workdir', dir], { NATS_URL: 'nats://127.0.0.1:1' }, dir);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `${tasks}: no tasks in it: its 2 list item(s) have no checkbox: a task is a line like \`- [ ] 1. Title\``,
    );
  });

  it('says so at once, exit 0, without a server (NATS_URL points nowhere and no local one is started)', async () => {
    const { dir, tasks } = await ws.make('- [x] 1. Done\n  ```bash\n  touch ran\n  ```\n- [X] 2. Done too\n');
    const r = await cli(['run', tasks, '--workdir', dir], { NATS_URL: 'nats://127.0.0.1:1' }, dir);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(`nothing to do: all 2 task(s) are ticked (${tasks}); --force runs them again`);
  });
});
