import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { EnvironmentError } from '../errors.ts';

export type LocalNats = {
  url: string;
  /** Only when a monitoring port was asked for. */
  monitorUrl?: string;
  pid: number;
  storeDir: string;
  stop(): Promise<void>;
};

const INSTALL_HINT =
  'Install it with `sudo apt-get install -y nats-server` (Debian/Ubuntu), or set NATS_URL to a running server.';
const FALLBACK_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/opt/homebrew/bin'];

/** The nats-server binary: $NATS_SERVER_BIN, then PATH, then where Debian puts it (/usr/sbin). */
export function findNatsServer(): string {
  const explicit = process.env.NATS_SERVER_BIN;
  if (explicit) {
    if (existsSync(explicit)) return explicit;
    throw new EnvironmentError(
      `nats-server was not found: NATS_SERVER_BIN points to ${explicit}, which does not exist. ${INSTALL_HINT}`,
    );
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...FALLBACK_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  throw new EnvironmentError(`nats-server was not found (looked on PATH and in /usr/sbin). ${INSTALL_HINT}`);
}

/**
 * util-linux's setpriv sets the parent-death signal and then runs the server (the signal survives
 * the exec). Without it (not Linux, or a minimal system), the store lock still stops an orphan
 * before the next server starts on the same store.
 */
function findSetpriv(): string | undefined {
  return ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Starts nats-server with `configFile` on loopback and the given store, and resolves once it
 * says it is ready (JetStream starts before the client port opens). With no `port` the server
 * picks a free one itself (`-p -1`) and its log names it: no other process can take it between a
 * probe and the bind. The monitoring port is opened only when asked for. It runs in a process
 * group of its own, so a Ctrl-C in the terminal (SIGINT to the whole foreground group) reaches
 * only this process, which can then record the interruption and stop the server itself; it is
 * stopped when this process exits.
 */
export async function startLocalNats(options: {
  configFile: string;
  storeDir: string;
  timeoutMs?: number;
  port?: number;
  monitorPort?: number;
  env?: Record<string, string>;
  /** SIGTERM to the server when this process dies, even by SIGKILL (Linux, through setpriv). */
  endWithParent?: boolean;
}): Promise<LocalNats> {
  const bin = findNatsServer();
  await mkdir(options.storeDir, { recursive: true });
  const args = ['-c', options.configFile, '-a', '127.0.0.1', '-p', String(options.port ?? -1), '-sd', options.storeDir];
  if (options.monitorPort !== undefined) args.push('-m', String(options.monitorPort));
  const setpriv = options.endWithParent ? findSetpriv() : undefined;
  const child = execa(setpriv ?? bin, setpriv ? ['--pdeathsig', 'TERM', '--', bin, ...args] : args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    reject: false,
    buffer: false,
    detached: true,
    ...(options.env ? { env: options.env } : {}),
  });
  // Detached children are not cleaned up by execa: end it on any exit of ours.
  const endOnExit = () => child.kill('SIGTERM');
  process.once('exit', endOnExit);
  void child.finally(() => process.off('exit', endOnExit));
  // A server that never became ready is ended here: left running, its pipe would keep this
  // process alive after it has given up.
  const port = await waitReady(child, options.timeoutMs ?? 15_000).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    ...(options.monitorPort !== undefined ? { monitorUrl: `http://127.0.0.1:${options.monitorPort}` } : {}),
    pid: child.pid ?? -1,
    storeDir: options.storeDir,
    stop: () => stopChild(child),
  };
}

const LISTENING = /Listening for client connections on [^\s]+:(\d+)/;
const READY = /Server is ready/;

/** Reads the server's log until it is ready; resolves with the client port it names. */
function waitReady(child: ResultPromise, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let log = '';
    let port: number | undefined;
    const timer = setTimeout(
      () => fail(`nats-server did not become ready within ${timeoutMs} ms:\n${log.slice(-4000)}`),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      port ??= Number(LISTENING.exec(log)?.[1]) || undefined;
      if (port !== undefined && READY.test(log)) done(() => resolve(port!));
    };
    const onExit = () => fail(`nats-server exited at start-up:\n${log.slice(-4000)}`);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // The log is still read (and dropped): a full pipe would block the server.
      child.stderr?.resume();
      settle();
    };
    const fail = (message: string) => done(() => reject(new EnvironmentError(message)));
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stopChild(child: ResultPromise): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await child;
  clearTimeout(timer);
}
