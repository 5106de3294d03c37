import { realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { posix } from 'node:path';

const clean = (p: string) => posix.normalize(p).replace(/(.)\/$/, '$1');

/** The machine's own trees: never a working directory, nor any folder inside them. */
const SYSTEM_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
];

/** Shared or system folders that hold projects below them (`/var/www/site`, `/srv/app`), never as themselves. */
const SYSTEM_FOLDERS = [
  '/',
  '/home',
  '/media',
  '/mnt',
  '/opt',
  '/srv',
  '/tmp',
  '/var',
  '/var/backups',
  '/var/cache',
  '/var/lib',
  '/var/log',
  '/var/mail',
  '/var/spool',
  '/var/tmp',
];

/**
 * Why `dir` (absolute, symlinks resolved) must not be a run's working directory, if it must not:
 * the root, a home folder (`/root`, `/home/<x>`, `homes` such as `$HOME`), a system folder or
 * anything inside the machine's own trees (`/etc`, `/usr`, `/proc`, ...). A command may write
 * anywhere in its working directory; these would hand it the user's dotfiles or the system.
 */
export function forbiddenWorkdir(dir: string, homes: readonly string[]): string | undefined {
  const path = clean(dir);
  if (!path.startsWith('/')) return `${dir} is not an absolute path`;
  const tree = SYSTEM_TREES.find((t) => path === t || path.startsWith(`${t}/`));
  if (tree) return `${path} is ${path === tree ? 'a system folder' : `inside the system folder ${tree}`}`;
  if (SYSTEM_FOLDERS.includes(path)) return `${path} is ${path === '/' ? 'the root folder' : 'a system folder'}`;
  const home = /^\/home\/[^/]+$/.test(path) || path === '/root' || homes.some((h) => h && clean(h) === path);
  if (home) return `${path} is a home folder (its dotfiles would be writable by every command)`;
  return undefined;
}

/** `forbiddenWorkdir` of the folder `dir` really is (through its symlinks), against this user's homes. */
export async function workdirRefusal(dir: string): Promise<string | undefined> {
  const real = await realpath(dir).catch(() => dir);
  const why = forbiddenWorkdir(real, [homedir(), process.env.HOME ?? '']);
  return why && real !== dir ? `${dir} leads to ${why}` : why;
}
