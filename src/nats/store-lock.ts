import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie answers kill(0) as alive: read its state.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** The command line of a process, when it can be read (Linux). */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** The lock's three lines: the CLI that holds it, its server's URL, its server's process. */
type Held = { pid: number; url: string; serverPid?: number };
const parse = (text: string): Held => {
  const [pid, url = '', server] = text.split('\n');
  return {
    pid: Number(pid),
    url,
    ...(server && Number.isInteger(Number(server)) && Number(server) > 0 ? { serverPid: Number(server) } : {}),
  };
};

/**
 * One local nats-server per store: a second one on the same folder would corrupt JetStream's
 * files. The lock names the process that holds it and the server it started. A lock left by a
 * dead process is taken over, and if its server still runs on this store (its parent was killed
 * before it could stop it, and nothing ended it), that server is stopped first.
 */
export async function lockStore(
  storeDir: string,
): Promise<{ release(): Promise<void>; publish(url: string, serverPid: number): Promise<void> }> {
  await mkdir(storeDir, { recursive: true });
  const path = join(storeDir, 'implement-agent.lock');
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text) {
    const held = parse(text);
    if (held.pid !== process.pid && Number.isInteger(held.pid) && alive(held.pid)) {
      throw new EnvironmentError(
        `another implement-agent (pid ${held.pid}) is running a nats-server on ${storeDir}` +
          (held.url
            ? `; share it with NATS_URL=${held.url}`
            : '; wait for it to finish, or set NATS_URL to a running server'),
      );
    }
    if (held.serverPid !== undefined) await stopOrphan(held.serverPid, storeDir);
  }
  await writeFile(path, `${process.pid}\n\n`);
  return {
    publish: (url, serverPid) => writeFile(path, `${process.pid}\n${url}\n${serverPid}\n`),
    release: () => rm(path, { force: true }),
  };
}

/** Stops a server left running on this store by a dead CLI: only a nats-server whose store is this one. */
async function stopOrphan(pid: number, storeDir: string): Promise<void> {
  const cmd = commandLine(pid);
  if (!alive(pid) || !cmd?.includes('nats-server') || !cmd.includes(storeDir)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      if (alive(pid))
        throw new EnvironmentError(`a nats-server (pid ${pid}) left on ${storeDir} by an earlier run does not stop`);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
