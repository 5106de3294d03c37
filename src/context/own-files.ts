import { fstatSync, readlinkSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';

/**
 * The files the tool itself writes while a run goes: never a task's change, never context. A
 * log the CLI's output is redirected to, fed back to the planner as a changed file, changed
 * again with every line printed: each plan made from it was out of date before it ran.
 */

/** Where this process's stdout and stderr go when redirected to a regular file (`run > run.log 2>&1`). */
export function outputFiles(): string[] {
  return [1, 2].flatMap((fd) => {
    try {
      if (!fstatSync(fd).isFile()) return [];
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith('/') ? [target] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Those of `paths` (absolute, or relative to `workdir`) that lie in `workdir`, relative to it.
 * Both the path given and the real one are tried: /proc names a file by its real path.
 */
export function ownPathsIn(workdir: string, paths: readonly (string | undefined)[]): string[] {
  const roots = [...new Set([workdir, real(workdir)])];
  const inside = paths.flatMap((p) =>
    p === undefined ? [] : roots.map((root) => within(root, p)).filter((r): r is string => r !== undefined),
  );
  return [...new Set(inside)];
}

/** Whether `rel` is one of `own` or lies in a folder of it. */
export function isOwnPath(rel: string, own: readonly string[]): boolean {
  return own.some((o) => rel === o || rel.startsWith(`${o}/`));
}

function within(root: string, path: string): string | undefined {
  const rel = relative(root, resolve(root, path));
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split('\\').join('/');
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
