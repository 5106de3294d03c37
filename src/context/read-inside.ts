import { constants, type Stats } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Reading the project for a prompt happens outside the sandbox, so this is the one guard between
 * a file a task planted and the LLM endpoint: a path is read only when the file it opens lies in
 * the working directory. A link (at any level of the path) may point anywhere inside it; one whose
 * target leaves it is not read.
 */

/** Why a path was not read: nothing there, a link leading out of the root, or not a regular file (a FIFO, a device). */
export type Unread = 'missing' | 'outside' | 'not-a-file';

/** The root as the kernel names it, for comparing with the paths of opened files. */
export const realRoot = (dir: string): Promise<string> => realpath(dir).catch(() => dir);

/** Whether a real path lies in a real root. */
function isWithin(root: string, real: string): boolean {
  return root === '/' || real === root || real.startsWith(`${root}/`);
}

/**
 * Opens `rel` under `root` (a real path) and hands the open file to `use`. The check is made on
 * the opened file's own path (/proc/self/fd), after opening: a link swapped in between a check
 * and the read cannot redirect it. Opened non-blocking, so a FIFO under a named path cannot hang
 * the planner; anything but a regular file (or a folder, when `dir`) is refused.
 */
export async function withInside<T>(
  root: string,
  rel: string,
  kind: 'file' | 'dir',
  use: (opened: { handle: FileHandle; info: Stats; proc: string }) => Promise<T>,
): Promise<T | Unread> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (kind === 'dir' ? constants.O_DIRECTORY : 0);
  const handle = await open(join(root, rel), flags).catch(() => undefined);
  if (!handle) return 'missing';
  try {
    const proc = `/proc/self/fd/${handle.fd}`;
    const real = await readlink(proc).catch(() => undefined);
    // Without /proc the opened file cannot be named: refused rather than trusted.
    if (real === undefined || !isWithin(root, real)) return 'outside';
    const info = await handle.stat();
    if (kind === 'file' ? !info.isFile() : !info.isDirectory()) return 'not-a-file';
    return await use({ handle, info, proc });
  } finally {
    await handle.close();
  }
}

/** A file's bytes and stat, when it lies in the root. */
export function readInside(root: string, rel: string): Promise<{ bytes: Buffer; info: Stats } | Unread> {
  return withInside(root, rel, 'file', async ({ handle, info }) => ({ bytes: await handle.readFile(), info }));
}

export const isUnread = (value: unknown): value is Unread =>
  value === 'missing' || value === 'outside' || value === 'not-a-file';
