import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { CLI, workspaces } from '../helpers/cli.ts';
import { REPO_ROOT } from '../helpers/nats.ts';
import { outsideFolder } from '../helpers/outside.ts';
import { startLocalNats } from '../../src/nats/local-server.ts';

/**
 * Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. The CLI starts
 * its own nats-server here (no NATS_URL), which must survive the signal so the interruption can
 * be recorded, and must be gone when the CLI exits.
 */
const ws = workspaces();
afterAll(() => ws.cleanup());

/** Task 2 says it runs by a file in `signal`, outside the project (its own writes stay in its view). */
const tasksSignalling = (signal: string) =>
  [
    '- [ ] 1. One\n  ```bash\n  echo one >> log.txt\n  ```',
    `- [ ] 2. Slow\n  \`\`\`bash\n  echo two-start >> log.txt; touch ${signal}/running; sleep 3; echo two-end >> log.txt\n  \`\`\``,
    '- [ ] 3. Three\n  ```bash\n  echo three >> log.txt\n  ```',
  ].join('\n');

/**
 * A project whose task writes `<signal>/running` once its command runs: only then is the command
 * in a process group of its own, its sandbox set up, which the first Ctrl-C leaves alone.
 */
async function signalling(tasks: (signal: string) => string) {
  const signal = await outsideFolder('ctrl-c-');
  onTestFinished(() => rm(signal, { recursive: true, force: true }));
  const w = await ws.make(tasks(signal));
  await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ sandbox: { writable: [signal] } }));
  const running = () => expect.poll(() => existsSync(join(signal, 'running')), { timeout: 60_000 }).toBe(true);
  return { ...w, running };
}

/** The CLI as the leader of its own process group, like a shell's foreground job. */
function startRun(dir: string, tasks: string, args: string[] = []) {
  return execa(process.execPath, [CLI, 'run', tasks, ...args], {
    cwd: dir,
    env: { NO_COLOR: '1', NATS_URL: '' },
    reject: false,
    detached: true,
    timeout: 120_000,
  });
}

/** Processes of a nats-server whose store is under `dir` (read from /proc: no pgrep needed). */
function natsServersOn(dir: string): string {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return '';
      }
    })();
    if (cmdline.includes('nats-server') && cmdline.includes(dir)) found.push(pid);
  }
  return found.join(' ');
}
const ctrlC = (pid: number | undefined) => process.kill(-pid!, 'SIGINT');

describe('Ctrl-C in a terminal', () => {
  it('lets the task in flight finish, ticks it, exits 130, and `resume` finishes the run', async () => {
    const { dir, tasks, running } = await signalling(tasksSignalling);
    const run = startRun(dir, tasks);
    await running();
    ctrlC(run.pid);
    const interrupted = await run;
    expect(interrupted.exitCode, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toMatch(
      /interrupted: waiting for 2 \(`echo two-start.*\) to finish; \d+s left \(Ctrl-C again to stop now\)/,
    );
    expect(interrupted.stderr).toMatch(/interrupted \(ticked: 1, 2\); continue it with: implement-agent resume r\w+/);
    expect(await readFile(join(dir, 'log.txt'), 'utf8')).toBe('one\ntwo-start\ntwo-end\n');
    expect(await readFile(tasks, 'utf8')).toMatch(/- \[x\] 1\. One[\s\S]*- \[x\] 2\. Slow[\s\S]*- \[ \] 3\. Three/);
    expect(natsServersOn(dir)).toBe('');

    const runId = /resume (r\w+)/.exec(interrupted.stderr)![1]!;
    const resumed = await execa(process.execPath, [CLI, 'resume', runId], {
      cwd: dir,
      env: { NO_COLOR: '1', NATS_URL: '' },
      reject: false,
      timeout: 120_000,
    });
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    expect(await readFile(join(dir, 'log.txt'), 'utf8')).toBe('one\ntwo-start\ntwo-end\nthree\n');
    expect(await readFile(tasks, 'utf8')).toMatch(/- \[x\] 3\. Three/);
  });

  it('a second Ctrl-C stops the commands in flight at once', async () => {
    const { dir, tasks, running } = await signalling(
      (signal) =>
        `- [ ] 1. Long\n  \`\`\`bash\n  echo start >> log.txt; touch ${signal}/running; sleep 60; echo end >> log.txt\n  \`\`\`\n`,
    );
    const run = startRun(dir, tasks);
    await running();
    ctrlC(run.pid);
    await new Promise((r) => setTimeout(r, 1000));
    const before = Date.now();
    ctrlC(run.pid);
    const stopped = await run;
    expect(stopped.exitCode, stopped.stderr).toBe(130);
    expect(Date.now() - before).toBeLessThan(20_000);
    expect(stopped.stderr).toMatch(/Ctrl-C again: stopping 1 task\(s\) in flight now/);
    // The task stopped half way: what it had written is undone, so `resume` starts it from a clean tree.
    await expect(readFile(join(dir, 'log.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
    expect(await readFile(tasks, 'utf8')).toMatch(/- \[ \] 1\. Long/);
    expect(natsServersOn(dir)).toBe('');
  });
});

describe('a run killed outright', () => {
  it('SIGKILL of the CLI leaves no nats-server behind, and the next run on the project uses one server', async () => {
    const w = await signalling(tasksSignalling);
    const run = startRun(w.dir, w.tasks);
    await w.running();
    expect(natsServersOn(w.dir).split(' ').filter(Boolean)).toHaveLength(1);
    run.kill('SIGKILL');
    await run;
    const deadline = Date.now() + 30_000;
    while (natsServersOn(w.dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(natsServersOn(w.dir)).toBe('');
    const next = await execa(process.execPath, [CLI, 'runs'], {
      cwd: w.dir,
      env: { NO_COLOR: '1', NATS_URL: '' },
      reject: false,
    });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/unfinished/);
  });

  it('a nats-server left running on the store by a dead CLI is stopped before a new one starts on it', async () => {
    const w = await ws.make('- [ ] 1. One\n  ```bash\n  echo one >> log.txt\n  ```\n');
    const storeDir = join(w.dir, '.implement-agent', 'nats');
    // An orphan as an older version (or another machine's kill) left it: no parent-death signal, lock naming a dead CLI.
    const orphan = await startLocalNats({ configFile: join(REPO_ROOT, 'nats.conf'), storeDir });
    const dead = execa('true');
    await dead;
    await writeFile(join(storeDir, 'implement-agent.lock'), `${dead.pid}\n${orphan.url}\n${orphan.pid}\n`);
    expect(natsServersOn(w.dir)).toBe(String(orphan.pid));
    const run = await execa(process.execPath, [CLI, 'run', w.tasks], {
      cwd: w.dir,
      env: { NO_COLOR: '1', NATS_URL: '' },
      reject: false,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(natsServersOn(w.dir)).toBe('');
    await orphan.stop();
  });
});
