import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
/** `sandbox.network`: how much network a confined command gets. */
export const NETWORK_MODES = ['none', 'outbound', 'host'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

/**
 * The network a confined command gets. `none`: a namespace of its own with only its loopback
 * (bwrap's --unshare-net). `outbound`: a namespace shared by this process's commands, with a
 * route out through slirp4netns and no way back to the host's loopback (its nats-server, the
 * databases of a developer's machine), entered with nsenter. `host`: the host's own.
 */
export type Network =
  | { mode: 'none' }
  | { mode: 'host' }
  | { mode: 'outbound'; enter: string[]; resolvConf: string; resolvAt: string };

/** libslirp's default guest network: its gateway (the host, whose loopback is refused) and DNS forwarder. */
const SLIRP_DNS = '10.0.2.3';

/** Where a program is on PATH, if anywhere. */
export function onPath(program: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, program))
    .find((p) => existsSync(p));
}

/** A line for the first lines of a run: the network commands get, and what it means. */
export function networkNotice(mode: NetworkMode): string {
  if (mode === 'host')
    return 'sandbox.network is "host": commands share this machine\'s network, its loopback services included (this run\'s nats-server, local databases): unsafe, and only for a task that must reach them';
  return mode === 'outbound'
    ? 'sandbox.network is "outbound": commands reach the internet through a network of their own (slirp4netns), not this machine\'s loopback services'
    : 'sandbox.network is "none": commands have no network';
}

/** The first line of every run: how its commands are confined, which network they get. */
export function confinementNotice(sandbox: { mode: string; network: NetworkMode }): string {
  return sandbox.mode === 'none'
    ? 'sandbox.mode is "none": commands run unconfined, with this machine\'s files and network (unsafe)'
    : networkNotice(sandbox.network);
}

let shared: Promise<Network> | undefined;
let holder: ChildProcess | undefined;

/**
 * The network for `mode`, once per process. Where `outbound` cannot be had (no slirp4netns, no
 * namespace), it is `none` with a warning naming what is missing: never the host's.
 */
export function resolveNetwork(mode: NetworkMode, warn: (m: string) => void): Promise<Network> {
  if (mode !== 'outbound') return Promise.resolve({ mode });
  // A holder that died (killed from outside) takes the namespace with it: start another.
  if (holder && holder.exitCode !== null) shared = undefined;
  shared ??= outbound().catch((error: unknown) => {
    warn(
      `sandbox.network "outbound" is not available here (${(error as Error).message}); commands run with no network ("none") instead`,
    );
    return { mode: 'none' as const };
  });
  return shared;
}

async function outbound(): Promise<Network> {
  if (!onPath('slirp4netns'))
    throw new Error(
      'slirp4netns is not installed: Debian/Ubuntu: apt-get install slirp4netns; Fedora: dnf install slirp4netns',
    );
  const root = process.getuid?.() === 0;
  // The holder keeps the namespace while this process lives: its stdin is our pipe, so it ends with us.
  holder = spawn('unshare', [...(root ? [] : ['--user', '--map-root-user']), '--net', 'sh', '-c', 'read _'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const pid = await started(holder);
  const ns = (kind: string) => `/proc/${pid}/ns/${kind}`;
  const slirp = spawn(
    'slirp4netns',
    [
      '--configure',
      '--mtu=65520',
      // 10.0.2.2 would otherwise be the host's 127.0.0.1.
      '--disable-host-loopback',
      '--ready-fd=3',
      '--exit-fd=4',
      ...(root ? [] : [`--userns-path=${ns('user')}`]),
      String(pid),
      'tap0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  await ready(slirp);
  for (const child of [holder, slirp]) {
    child.unref();
    for (const s of child.stdio) (s as (Readable & { unref?: () => void }) | null)?.unref?.();
  }
  const [h, s] = [holder, slirp];
  process.once('exit', () => {
    h.kill('SIGKILL');
    s.kill('SIGKILL');
  });
  return {
    mode: 'outbound',
    enter: ['nsenter', ...(root ? [] : [`--user=${ns('user')}`, '--preserve-credentials']), `--net=${ns('net')}`, '--'],
    ...resolvConf(),
  };
}

function started(child: ChildProcess): Promise<number> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`unshare --net exited ${code}: ${stderr.trim()}`)));
    // unshare execs sh in place; once the namespace exists, /proc shows its own net namespace.
    const poll = () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        if (readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sh') return resolve(child.pid);
      } catch {
        return;
      }
      setTimeout(poll, 2);
    };
    poll();
  });
}

function ready(slirp: ChildProcess): Promise<void> {
  let stderr = '';
  slirp.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    slirp.once('error', reject);
    slirp.once('exit', (code) => reject(new Error(`slirp4netns exited ${code}: ${stderr.trim().split('\n').pop()}`)));
    (slirp.stdio[3] as Readable).once('data', () => resolve());
  });
}

/**
 * The resolver a command in the namespace uses: slirp4netns's forwarder, which asks the host's
 * (a loopback resolver such as systemd-resolved's 127.0.0.53 is out of reach from inside).
 * Bound where /etc/resolv.conf really is, since it is often a link into /run. Written in a
 * temporary folder of this process, not the user's.
 */
function resolvConf(): { resolvConf: string; resolvAt: string } {
  let host = '';
  let at = '/etc/resolv.conf';
  try {
    at = realpathSync(at);
    host = readFileSync(at, 'utf8');
  } catch {
    // no resolver configured on the host: the forwarder alone
  }
  const kept = host.split('\n').filter((l) => /^\s*(search|domain|options)\b/.test(l));
  const dir = mkdtempSync(join(tmpdir(), 'implement-agent-net-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'resolv.conf');
  writeFileSync(file, [`nameserver ${SLIRP_DNS}`, ...kept, ''].join('\n'));
  return { resolvConf: file, resolvAt: at };
}
