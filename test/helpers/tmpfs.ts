import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach } from 'vitest';

/** A small tmpfs can be mounted here (root, or a container that allows it). */
export async function canMountTmpfs(): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-mount-'));
  try {
    const ok = (await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { reject: false })).exitCode === 0;
    if (ok) await execa('umount', [dir], { reject: false });
    return ok;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Mounts tmpfs the test asks for, and after each test (passed, failed or timed out: vitest runs
 * afterEach then too, while a timed-out body may still run) ends what holds them and unmounts
 * them. What holds one: the processes the test registered, and the nats-server its store lock names.
 */
export function tmpfsMounts() {
  const mounts: string[] = [];
  const holders: { kill(signal: NodeJS.Signals): boolean }[] = [];
  afterEach(async () => {
    for (const child of holders.splice(0)) child.kill('SIGKILL');
    for (const dir of mounts.splice(0)) {
      await killStoreServer(dir);
      await unmount(dir);
    }
  });
  return {
    async mount(dir: string, size: string): Promise<void> {
      await execa('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
      mounts.push(dir);
    },
    /** A process to end before the unmount (it may still write there). */
    hold<T extends { kill(signal: NodeJS.Signals): boolean }>(child: T): T {
      holders.push(child);
      return child;
    },
  };
}

/**
 * The store's server ends with the CLI that started it; one wedged by a full disk may not (it
 * ignores SIGTERM). Only the server the store lock names, and only while its command line still
 * names this store (a pid is not reused by a guess).
 */
async function killStoreServer(store: string): Promise<void> {
  const lock = await readFile(join(store, 'implement-agent.lock'), 'utf8').catch(() => '');
  const pid = Number(lock.split('\n')[2]);
  if (!(pid > 0)) return;
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!command.includes('nats-server') || !command.includes(store)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // It ended meanwhile.
  }
}

/** Unmounts `dir`; while a dying holder still has it open, detaches it (lazy): no mount outlives the test. */
async function unmount(dir: string): Promise<void> {
  if ((await execa('umount', [dir], { reject: false })).exitCode === 0) return;
  await execa('umount', ['--lazy', dir], { reject: false });
}
