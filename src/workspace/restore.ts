import { chmod, lstat, mkdir, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, isAbsolute } from 'node:path';
import { CONFIG_FILE } from '../file-names.ts';
import { UnsafePathError } from '../errors.ts';
import { insideWorkdir } from '../context/project-files.ts';
import { NEVER_SCANNED } from './tree-scan.ts';
import { workdirRefusal } from './workdir-guard.ts';
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

/** Where git and the tool keep what runs or is believed later: never written back from a record. */
export function protectedPlace(rel: string): string | undefined {
  const parts = rel.split('/');
  if (parts.includes('.git')) return "it is inside a repository's .git (hooks and config there run code)";
  if (NEVER_SCANNED.has(parts[0]!)) return `it is inside the tool's own folder ${parts[0]}`;
  if (rel === CONFIG_FILE) return 'it is the configuration file, which no task may change';
  return undefined;
}

/**
 * The absolute path of `path` in the working directory, or an UnsafePathError: a path that
 * leaves it (by `..`, being absolute or through a symlinked folder), a protected place in it, or a
 * working directory that is the root, a home or a system folder.
 */
export async function inside(workdir: string, path: string): Promise<string> {
  const rel = insideWorkdir(path);
  if (rel === undefined) throw new UnsafePathError(path, `not inside the working directory ${workdir}`);
  const forbidden = await workdirRefusal(workdir);
  if (forbidden) throw new UnsafePathError(path, `the working directory is refused: ${forbidden}`);
  const place = protectedPlace(rel);
  if (place) throw new UnsafePathError(path, place);
  const root = await realpath(workdir);
  // The deepest folder on the path that exists must resolve inside the working directory, and not into a protected place.
  let dir = dirname(join(root, rel));
  for (;;) {
    const real = await realpath(dir).catch(() => undefined);
    if (real !== undefined) {
      const back = relative(root, real);
      if (back.startsWith('..') || isAbsolute(back))
        throw new UnsafePathError(path, `leads outside the working directory ${workdir} (through ${real})`);
      const through = back && protectedPlace(`${back}/${basename(rel)}`);
      if (through) throw new UnsafePathError(path, `leads through ${real}: ${through}`);
      break;
    }
    dir = dirname(dir);
  }
  return join(root, rel);
}
