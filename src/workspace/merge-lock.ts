import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';

/**
 * A lock among the processes of this machine that the OS releases when its holder dies, taken
 * with no child process: the holder listens on an abstract Unix socket (Linux: a name, no file),
 * which only one process can. A process that finds the name taken connects to it and waits for
 * that connection to close (the holder dropped the lock, or died), then tries again.
 */
export type FolderLock = { take(): Promise<void>; drop(): void };

const lockers = new Map<string, FolderLock>();

/** What names the merges into `workdir` among the processes that share `stateDir` (their lock, their journal). */
export const folderKey = (stateDir: string, workdir: string): string =>
  createHash('sha256')
    .update(`${resolve(stateDir)}\n${resolve(workdir)}`)
    .digest('hex')
    .slice(0, 32);

/** The lock on merges into `workdir` among the processes that share `stateDir`. */
export function mergeLock(stateDir: string, workdir: string): FolderLock {
  const name = `\0implement-agent-merge-${folderKey(stateDir, workdir)}`;
  let lock = lockers.get(name);
  if (!lock) lockers.set(name, (lock = socketLock(name)));
  return lock;
}

function socketLock(name: string): FolderLock {
  let held: { server: Server; waiters: Set<Socket> } | undefined;
  return {
    take: async () => {
      for (;;) {
        const taken = await listen(name);
        if (taken) {
          held = taken;
          return;
        }
        await released(name);
      }
    },
    drop: () => {
      held?.server.close();
      for (const c of held?.waiters ?? []) c.destroy();
      held = undefined;
    },
  };
}

/** The name listened on (the lock taken), or undefined when another process holds it. */
function listen(name: string): Promise<{ server: Server; waiters: Set<Socket> } | undefined> {
  const waiters = new Set<Socket>();
  const server = createServer((c) => {
    waiters.add(c);
    c.on('error', () => undefined);
    c.on('close', () => waiters.delete(c));
  });
  return new Promise((done, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE'
        ? done(undefined)
        : fail(new Error(`the merge lock ${name.slice(1)}: ${error.message}`)),
    );
    server.listen({ path: name }, () => {
      // The lock never keeps this process alive: what runs inside it does.
      server.unref();
      done({ server, waiters });
    });
  });
}

/** Resolves when the holder of `name` lets go: its connection closes (or there was none to make). */
function released(name: string): Promise<void> {
  return new Promise((done) => {
    const c = connect({ path: name });
    c.once('error', () => done());
    c.once('close', () => done());
    c.resume();
  });
}
