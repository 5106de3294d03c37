import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A lock on a lock file that the OS releases when this process dies: a child shell holds the file
 * open and takes and drops an flock(2) on it when told on its stdin. When this process dies, the
 * shell's stdin ends, it exits, and the lock goes with its descriptor. One child per lock file,
 * kept for the process's life; taking the lock is a line written and one `flock` run by the child.
 */
export type FolderLock = { take(): Promise<void>; drop(): void };

const lockers = new Map<string, FolderLock>();

// `flock 9` locks the open file the shell holds on 9: the lock stays after flock exits.
const SCRIPT =
  'exec 9>>"$1" || exit 1; while IFS= read -r x; do flock 9 && echo taken || exit 1; IFS= read -r x || exit 0; flock -u 9; done';

/** The lock on merges into `workdir` among the processes that share `stateDir`. */
export function mergeLock(stateDir: string, workdir: string): FolderLock {
  const file = join(stateDir, `merge-${createHash('sha256').update(workdir).digest('hex').slice(0, 12)}.lock`);
  let lock = lockers.get(file);
  if (!lock) lockers.set(file, (lock = locker(stateDir, file)));
  return lock;
}

function locker(stateDir: string, file: string): FolderLock {
  let child: ChildProcess | undefined;
  let stderr = '';
  const start = () => {
    mkdirSync(stateDir, { recursive: true });
    const c = spawn('sh', ['-c', SCRIPT, 'sh', file], { stdio: ['pipe', 'pipe', 'pipe'] });
    c.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    c.stdin?.on('error', () => undefined);
    release(c);
    return c;
  };
  return {
    take: () => {
      if (!child || child.exitCode !== null || child.signalCode !== null) child = start();
      const c = child;
      c.ref();
      (c.stdout as { ref?: () => void } | null)?.ref?.();
      return new Promise<void>((resolve, reject) => {
        const gone = (code: number | null) =>
          reject(new Error(`the merge lock's holder for ${file} exited ${code}: ${stderr.trim()}`));
        c.once('exit', gone);
        c.stdout?.once('data', () => {
          c.off('exit', gone);
          resolve();
        });
        c.stdin?.write('take\n');
      }).finally(() => release(c));
    },
    drop: () => void child?.stdin?.write('drop\n'),
  };
}

/** The lock's child never keeps this process alive: it ends with its stdin. */
function release(c: ChildProcess) {
  c.unref();
  for (const s of [c.stdin, c.stdout, c.stderr]) (s as { unref?: () => void } | null)?.unref?.();
}
