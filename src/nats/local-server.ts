import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { get as httpGet } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { EnvironmentError } from '../errors.ts';

export type LocalNats = {
  url: string;
  monitorUrl: string;
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
 * Starts nats-server with `configFile` on free loopback ports and the given store, and resolves
 * once JetStream answers its health check. It runs in a process group of its own, so a Ctrl-C in
 * the terminal (SIGINT to the whole foreground group) reaches only this process, which can then
 * record the interruption and stop the server itself; it is stopped when this process exits.
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
  const [port, monitorPort] = [options.port ?? (await freePort()), options.monitorPort ?? (await freePort())];
  const args = [
    '-c',
    options.configFile,
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-m',
    String(monitorPort),
    '-sd',
    options.storeDir,
  ];
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
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  // A server that never became healthy is ended here: left running, its pipe would keep this
  // process alive after it has given up.
  await waitHealthy(child, monitorUrl, options.timeoutMs ?? 15_000, () => stderr).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorUrl,
    pid: child.pid ?? -1,
    storeDir: options.storeDir,
    stop: () => stopChild(child),
  };
}

async function waitHealthy(child: ResultPromise, monitorUrl: string, timeoutMs: number, log: () => string) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new EnvironmentError(`nats-server exited at start-up:\n${log()}`);
    if (await answersOk(`${monitorUrl}/healthz?js-enabled-only=true`)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new EnvironmentError(`nats-server did not become healthy within ${timeoutMs} ms:\n${log()}`);
}

/**
 * Whether a GET of `url` answers 200. Through node:http rather than fetch: loading fetch's
 * implementation cost a run 20-30 ms of its start-up. Required here, not imported at the top: a
 * run against a NATS already up does not need it (and a dynamic import() cannot be bundled).
 */
function answersOk(url: string): Promise<boolean> {
  const { get } = createRequire(import.meta.url)('node:http') as { get: typeof httpGet };
  return new Promise((resolve) => {
    const request = get(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.setTimeout(1_000, () => request.destroy());
  });
}

async function stopChild(child: ResultPromise): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await child;
  clearTimeout(timer);
}
