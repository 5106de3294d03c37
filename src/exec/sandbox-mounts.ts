import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_FILE } from '../file-names.ts';

/**
 * Folders that are empty and private inside: the shared scratch folders (a socket or a file
 * another program left there is out of reach) and /run, where daemons keep their sockets and
 * pid files. /dev is bwrap's own, /dev/shm with it.
 */
export const PRIVATE_DIRS = ['/tmp', '/var/tmp', '/run'];

/** What a toolchain needs of /run: NixOS keeps its whole system profile (PATH) there. */
const RUN_KEPT = ['/run/current-system'];

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * What /run shows inside, read-only: what a toolchain needs of it, the host's resolver file when
 * /etc/resolv.conf is a link into it (systemd-resolved) and the network is the host's.
 */
export function keptOfRun(hostResolver: boolean, exists: (p: string) => boolean = existsSync): string[] {
  const resolver = real('/etc/resolv.conf');
  return [...RUN_KEPT, ...(hostResolver && resolver.startsWith('/run/') ? [resolver] : [])].filter(exists);
}

/**
 * Every unix socket bound on the host (its network namespace's /proc/net/unix lists them all,
 * abstract ones aside: those the command's own network namespace cuts off) that a command
 * could otherwise connect to: not in the working directory, not in a private folder, not kept
 * by `sandbox.sockets`, and not in a home unless under a folder made readable there.
 */
export function hostSockets(
  listing: string,
  options: { workdir: string; keep: readonly string[]; homes: readonly string[]; readable: readonly string[] },
): string[] {
  const kept = new Set(options.keep.map((k) => real(resolve(k))));
  const paths = listing
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/)[7])
    .filter((p): p is string => p !== undefined && p.startsWith('/'));
  return [...new Set(paths)].filter(
    (p) =>
      !under(p, options.workdir) &&
      !PRIVATE_DIRS.some((d) => under(p, d)) &&
      !(options.homes.some((h) => under(p, h)) && !options.readable.some((r) => under(p, r))) &&
      !kept.has(p),
  );
}

/** The sockets bound on the host now, as `hostSockets` filters them. */
export function socketsNow(options: Parameters<typeof hostSockets>[1]): string[] {
  let listing = '';
  try {
    listing = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return []; // not Linux: no bubblewrap either
  }
  return hostSockets(listing, options).filter((p) => {
    try {
      return statSync(p).isSocket();
    } catch {
      return false;
    }
  });
}

/** The parts of a working copy's .git that make git run code later: its hooks, its config, its info (attributes, excludes). */
export function gitControlFiles(workdir: string, exists: (path: string) => boolean = existsSync): string[] {
  return ['hooks', 'config', 'info'].map((p) => join(workdir, '.git', p)).filter(exists);
}

/**
 * The tool's own configuration files a command could write: the working directory's and the
 * current folder's (where the CLI reads it) when that lies inside the working directory. A
 * command must not make the next run unconfined.
 */
export function configFiles(workdir: string, cwd: string = process.cwd()): string[] {
  return [...new Set([join(workdir, CONFIG_FILE), resolve(cwd, CONFIG_FILE)])].filter((p) => under(p, workdir));
}

/** An empty folder over a folder, the empty file over a file (or a socket: a connect then fails). */
export function hide(path: string): string[] {
  try {
    return statSync(path).isDirectory() ? ['--tmpfs', path] : ['--ro-bind', '/dev/null', path];
  } catch {
    return [];
  }
}
