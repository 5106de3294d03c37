import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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

/**
 * What a holder does with its server: `shared` serves every process on the store for as long as
 * it runs (`up`, `actor`); `run` drives a run, and commands that only read join it; `read` is a
 * short command on a server of its own. A lock without a kind (older versions) is `read`'s.
 */
const HOLDER_KINDS = ['shared', 'run', 'read'] as const;
export type HolderKind = (typeof HOLDER_KINDS)[number];

/** The lock's lines: the CLI that holds it, its server's URL, its server's process, the holder's kind. */
type Held = { pid: number; url: string; serverPid?: number; kind: HolderKind; text: string };
const parse = (text: string): Held => {
  const [pid, url = '', server, kind] = text.split('\n');
  return {
    pid: Number(pid),
    url,
    ...(server && Number.isInteger(Number(server)) && Number(server) > 0 ? { serverPid: Number(server) } : {}),
    kind: HOLDER_KINDS.find((k) => k === kind) ?? 'read',
    text,
  };
};
const format = (url: string, serverPid: number | '', kind: HolderKind) =>
  `${process.pid}\n${url}\n${serverPid}\n${kind}\n`;

const LOCK_FILE = 'implement-agent.lock';

/** The URL of the server a live process runs on this store, if one does. */
export async function lockedServerUrl(storeDir: string): Promise<string | undefined> {
  const text = await readFile(join(storeDir, LOCK_FILE), 'utf8').catch(() => undefined);
  const held = text === undefined ? undefined : parse(text);
  return held && held.url && alive(held.pid) ? held.url : undefined;
}

export type StoreLock =
  | { kind: 'held'; release(): Promise<void>; publish(url: string, serverPid: number): Promise<void> }
  | { kind: 'joined'; url: string; holder: number };

/** Whose server a process of kind `wanted` may join: a shared one always; a run's, to read. */
const joins = (wanted: HolderKind, holder: HolderKind) =>
  holder === 'shared' || (holder === 'run' && wanted === 'read');

/** How long a process waits for a holder it may join to name its server's URL. */
const JOIN_WAIT_MS = 20_000;

/**
 * One local nats-server per store: a second one on the same folder would corrupt JetStream's
 * files. The lock is created atomically (a complete file linked into place, so it exists with its
 * content or not at all); it names the process that holds it, the server it started and what the
 * holder is (`HolderKind`). A second process joins a server it may (a shared one; a run's, to
 * read), and otherwise waits its turn (`waiting` says for whom, once); a lock left by a dead
 * process is taken over, and if its server still runs on this store (its parent was killed
 * before it could stop it, and nothing ended it), that server is stopped first.
 */
export async function lockStore(
  storeDir: string,
  options: { kind: HolderKind; waiting?: (holder: { pid: number; kind: HolderKind }) => void },
): Promise<StoreLock> {
  await mkdir(storeDir, { recursive: true, mode: 0o700 });
  const path = join(storeDir, LOCK_FILE);
  let joinDeadline: number | undefined;
  let said = false;
  for (;;) {
    if (await createWithContent(path, format('', '', options.kind)))
      return {
        kind: 'held',
        publish: (url, serverPid) => writeFile(path, format(url, serverPid, options.kind)),
        release: () => rm(path, { force: true }),
      };
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // released in the meantime: try again
    const held = parse(text);
    if (!alive(held.pid)) {
      await takeOver(path, held, storeDir);
      continue;
    }
    if (joins(options.kind, held.kind)) {
      if (held.url) return { kind: 'joined', url: held.url, holder: held.pid };
      joinDeadline ??= Date.now() + JOIN_WAIT_MS;
      if (Date.now() > joinDeadline)
        throw new EnvironmentError(
          `implement-agent (pid ${held.pid}) holds ${storeDir} but has not started its nats-server in ${JOIN_WAIT_MS / 1000} s`,
        );
      await new Promise((r) => setTimeout(r, 25));
      continue;
    }
    if (!said) options.waiting?.({ pid: held.pid, kind: held.kind });
    said = true;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Exclusive create of a file that is complete when it appears: written aside, then hard-linked. */
async function createWithContent(path: string, text: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(temp, text, { mode: 0o600 });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Removes a dead holder's lock, one process at a time: the takeover has a lock of its own, so a
 * process that read the dead holder late cannot remove the lock a faster one has just taken.
 */
async function takeOver(path: string, dead: Held, storeDir: string): Promise<void> {
  const mutex = `${path}.takeover`;
  if (!(await createWithContent(mutex, `${process.pid}\n`))) {
    const holder = Number((await readFile(mutex, 'utf8').catch(() => '')).split('\n')[0]);
    // A taker that died in the middle: its mutex goes, and the next round tries again.
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) await rm(mutex, { force: true });
    else await new Promise((r) => setTimeout(r, 25));
    return;
  }
  try {
    if ((await readFile(path, 'utf8').catch(() => undefined)) !== dead.text) return;
    if (dead.serverPid !== undefined) await stopOrphan(dead.serverPid, storeDir);
    await rm(path, { force: true });
  } finally {
    await rm(mutex, { force: true });
  }
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
