import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeBwrap } from '../../src/exec/sandbox.ts';
import { confinedRunner } from '../helpers/confined.ts';

const bwrapWorks = (await probeBwrap()) === undefined;
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function workdir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-limits-'));
  dirs.push(dir);
  return dir;
}

/** Alive means a process that is not a zombie (STACK.md: a zombie answers kill(pid, 0)). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const limits = { memoryMiB: 1024, processes: 200, cpuSeconds: 600 };

/** Fork bombs, by spellings a rule on the command's text does not match. */
const BOMBS = [
  ':(){ :|:& };:',
  'bomb(){ bomb|bomb& };bomb',
  'python3 -c "import os\nwhile True: os.fork()"',
  "perl -e 'fork while 1'",
];

describe.skipIf(!bwrapWorks)('limits of every command (real bubblewrap, cgroup or rlimits)', () => {
  it.each(BOMBS)(
    'ends the fork bomb %s at its process limit, with every process of it',
    async (bomb) => {
      const sandbox = await confinedRunner({ sandbox: { mode: 'bwrap', network: 'none' }, execution: { limits } });
      try {
        // The deny list has a rule for one spelling; the limit must hold for all, so call the runner
        // directly. A loop that goes on forking at the limit (perl's; python's, on a loaded machine)
        // is ended by its timeout, every process of it, with the limit named.
        const result = await sandbox.run(bomb, await workdir(), 20_000);
        // 200 interpreters may reach the memory limit before the process limit: either ends it.
        if (/python3|perl/.test(bomb))
          expect(result.refused).toMatch(
            /(process limit \(execution\.limits\.processes = 200\)|memory limit \(execution\.limits\.memoryMiB = 1024)/,
          );
        else expect(result.timedOut).toBe(false);
      } finally {
        await sandbox.cleanup();
      }
    },
    90_000,
  );

  it.each(['bwrap', 'none'] as const)(
    'stops a 1.5 GiB allocation under a 1 GiB memory limit, naming the limit and the setting (sandbox %s)',
    async (mode) => {
      const sandbox = await confinedRunner({ sandbox: { mode, network: 'none' }, execution: { limits } });
      try {
        const result = await sandbox.run(
          'python3 -c "b = b\'x\' * (1536 * 1024 * 1024); print(len(b))"',
          await workdir(),
        );
        expect(result.exitCode).not.toBe(0);
        expect(result.stdoutTail).not.toContain('1610612736');
        expect(result.refused).toMatch(/stopped by its memory limit \(execution\.limits\.memoryMiB = 1024/);
      } finally {
        await sandbox.cleanup();
      }
    },
  );

  it('ends a setsid child of an unconfined command (sandbox none) when the command ends', async () => {
    const sandbox = await confinedRunner({ sandbox: { mode: 'none' } });
    try {
      const result = await sandbox.run('setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $!', await workdir());
      const pid = Number(result.stdoutTail.trim());
      expect(pid).toBeGreaterThan(0);
      expect(alive(pid)).toBe(false);
    } finally {
      await sandbox.cleanup();
    }
  });
});
