import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One local nats-server per store: a second one on the same folder would corrupt JetStream's
 * files. The lock names the process that holds it; a lock left by a dead process is taken over.
 */
export async function lockStore(storeDir: string, url: () => string | undefined): Promise<{ release(): Promise<void>; publish(url: string): Promise<void> }> {
  await mkdir(storeDir, { recursive: true });
  const path = join(storeDir, 'implement-agent.lock');
  const held = await readFile(path, 'utf8').catch(() => undefined);
  if (held) {
    const [pidText, holderUrl] = held.split('\n');
    const pid = Number(pidText);
    if (pid !== process.pid && Number.isInteger(pid) && alive(pid)) {
      throw new EnvironmentError(
        `another implement-agent (pid ${pid}) is running a nats-server on ${storeDir}` +
          (holderUrl ? `; share it with NATS_URL=${holderUrl}` : '; wait for it to finish, or set NATS_URL to a running server'),
      );
    }
  }
  await writeFile(path, `${process.pid}\n${url() ?? ''}\n`);
  return {
    publish: (u) => writeFile(path, `${process.pid}\n${u}\n`),
    release: () => rm(path, { force: true }),
  };
}
