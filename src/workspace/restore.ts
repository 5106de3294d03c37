import { chmod, lstat, mkdir, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, isAbsolute } from 'node:path';
import { insideWorkdir } from '../context/project-files.ts';
import { contentHash } from './work-tree.ts';

/** What a path should hold: a file or a link with these bytes (a link's are its target), or nothing. */
export type Wanted = { kind: 'file' | 'link'; bytes: Uint8Array; mode: number | null } | null;

/** What a path holds now, hashed as the work tree hashes it (null: nothing there; a folder or device has no bytes). */
export async function currentContent(workdir: string, path: string): Promise<{ hash: string; bytes?: Buffer } | null> {
  const abs = await inside(workdir, path);
  const info = await lstat(abs).catch(() => undefined);
  if (!info) return null;
  if (!info.isSymbolicLink() && !info.isFile()) return { hash: 'not-a-file' };
  const bytes = info.isSymbolicLink() ? Buffer.from(await readlink(abs)) : await readFile(abs);
  return { hash: contentHash(bytes), bytes };
}

/** The hash of what a path holds now (null: nothing there). */
export const currentHash = async (workdir: string, path: string): Promise<string | null> =>
  (await currentContent(workdir, path))?.hash ?? null;

/**
 * Puts `wanted` at `path` inside the working directory: writes the file (and its mode), makes
 * the link, or removes what is there. A path that leaves the working directory (by `..` or by a
 * symlinked folder) is refused: only what a task changed inside it is ever written back.
 */
export async function restorePath(workdir: string, path: string, wanted: Wanted): Promise<void> {
  const abs = await inside(workdir, path);
  const info = await lstat(abs).catch(() => undefined);
  if (wanted === null) {
    if (info) await rm(abs, { force: true });
    return;
  }
  // Made below the deepest existing folder, which `inside` found in the working directory.
  await mkdir(dirname(abs), { recursive: true });
  if (wanted.kind === 'link') {
    if (info) await rm(abs, { force: true });
    await symlink(Buffer.from(wanted.bytes).toString(), abs);
    return;
  }
  if (info?.isSymbolicLink() || (info && !info.isFile())) await rm(abs, { recursive: true, force: true });
  await writeFile(abs, wanted.bytes);
  if (wanted.mode !== null) await chmod(abs, wanted.mode);
}

async function inside(workdir: string, path: string): Promise<string> {
  const rel = insideWorkdir(path);
  if (rel === undefined) throw new Error(`${path} is not inside the working directory ${workdir}`);
  const root = await realpath(workdir);
  // The deepest folder on the path that exists must resolve inside the working directory.
  let dir = dirname(join(root, rel));
  for (;;) {
    const real = await realpath(dir).catch(() => undefined);
    if (real !== undefined) {
      const back = relative(root, real);
      if (back.startsWith('..') || isAbsolute(back))
        throw new Error(`${path} leads outside the working directory ${workdir} (through ${real})`);
      break;
    }
    dir = dirname(dir);
  }
  return join(root, rel);
}
