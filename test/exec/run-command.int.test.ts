import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnvironment } from '../../src/exec/child-env.ts';
import { makeRedactor } from '../../src/exec/redaction.ts';
import { runShellCommand, type ShellCommandOptions } from '../../src/exec/run-command.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ia-cmd-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = (over: Partial<ShellCommandOptions> = {}): ShellCommandOptions => ({
  cwd: dir,
  env: childEnvironment().env,
  timeoutMs: 10_000,
  tailChars: 1000,
  keepBytes: 64 * 1024,
  killGraceMs: 300,
  ...over,
});

/** A zombie still answers kill(pid, 0): read the process state instead. */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

describe('runShellCommand', () => {
  it('records exit code, output tails and duration', async () => {
    const r = await runShellCommand('echo out; echo err >&2; exit 3', options());
    expect(r).toMatchObject({
      exitCode: 3,
      signal: null,
      timedOut: false,
      stdoutTail: 'out\n',
      stderrTail: 'err\n',
      truncated: false,
    });
  });

  it('kills the whole process group on timeout, grandchildren included, and returns on time', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const started = Date.now();
    const r = await runShellCommand(
      `(sleep 30 & echo $! > ${pidFile}; wait) ; echo never`,
      options({ timeoutMs: 500 }),
    );
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(elapsed).toBeLessThan(5000);
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    await expect.poll(() => alive(grandchild), { timeout: 3000 }).toBe(false);
  });

  it('does not wait for, or leave behind, a background process the command started', async () => {
    const pidFile = join(dir, 'bg.pid');
    const r = await runShellCommand(`sleep 30 & echo $! > ${pidFile}; echo started`, options());
    expect(r.exitCode).toBe(0);
    expect(r.durationMs).toBeLessThan(5000);
    const bg = Number(await readFile(pidFile, 'utf8'));
    await expect.poll(() => alive(bg), { timeout: 3000 }).toBe(false);
  });

  it('caps 50 MB of output: a bounded tail, a bounded kept copy, truncation marked', async () => {
    const r = await runShellCommand('head -c 52428800 /dev/zero | tr "\\0" "x"; echo; echo last-line', options());
    expect(r.exitCode).toBe(0);
    expect(r.truncated).toBe(true);
    expect(r.stdoutTail.length).toBeLessThanOrEqual(1000);
    expect(r.stdoutTail.endsWith('last-line\n')).toBe(true);
    expect(r.fullOutput!.length).toBeLessThan(70 * 1024 + 200);
    expect(r.fullOutput).toMatch(/more bytes not kept/);
  });

  it('keeps the agent secrets out of the child environment and redacts their values', async () => {
    const base = {
      PATH: process.env.PATH,
      OPENAI_API_KEY: 'sk-planted-secret-123',
      NATS_PASSWORD: 'nats-pass-456',
      GITHUB_TOKEN: 'ghp_token_789',
      HOME: '/root',
      LANG: 'de_DE.UTF-8',
    };
    const { env, secrets } = childEnvironment(base);
    const redact = makeRedactor(secrets, ['tok_[a-z0-9]{8}']);
    expect(Object.keys(env).sort()).toEqual(['HOME', 'LANG', 'LC_ALL', 'PATH']);
    expect(env.LC_ALL).toBe('C');
    const r = await runShellCommand('env; echo sk-planted-secret-123; echo tok_abcd1234', options({ env, redact }));
    expect(r.stdoutTail).not.toMatch(/planted|nats-pass|ghp_token|tok_abcd1234/);
    expect(r.stdoutTail).toContain('[REDACTED]');
  });

  it('strips ANSI escapes and replaces invalid UTF-8', async () => {
    const r = await runShellCommand(`printf '\\033[31mred\\033[0m \\xff\\xfe ok\\n'`, options());
    expect(r.stdoutTail).toBe('red \uFFFD\uFFFD ok\n');
  });

  it('reports a missing working directory as a failed start, not a crash', async () => {
    const r = await runShellCommand('true', options({ cwd: join(dir, 'missing') }));
    expect(r.exitCode).toBe(127);
    expect(r.stderrTail).toMatch(/ENOENT|spawn/);
  });
});
