import { cp, lstat, mkdir, readdir, realpath, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { mergeLock } from './merge-lock.ts';
import { protectedPlace } from './restore.ts';
import { REPOSITORY, type MergeStep } from './view-changes.ts';

/** A path the task changed that the working directory changed too since the task's view began, and by whom. */
export type Conflict = { path: string; by: string };

export type MergeOutcome =
  | { merged: true; paths: string[]; refused: { path: string; reason: string }[] }
  | { merged: false; conflicts: Conflict[] };

type Merge = { seq: number; who: string; paths: string[] };

/** Per working directory: the merges done (newest last, a bounded window) and the queue they wait in. */
const merges = new Map<string, { done: Merge[]; seq: number; queue: Promise<unknown> }>();
const KEPT_MERGES = 256;

const place = (workdir: string) => {
  let at = merges.get(workdir);
  if (!at) merges.set(workdir, (at = { done: [], seq: 0, queue: Promise.resolve() }));
  return at;
};

/** How many merges this process has made into `workdir`: a view notes it at its start, to name who merged after. */
export const mergesSoFar = (workdir: string): number => place(workdir).seq;

/**
 * Runs `fn` after every merge (and commit) into `workdir` queued before it: one at a time per
 * folder; with `stateDir`, also one at a time among the processes that share it (a lock the OS
 * releases when its holder dies: several executors under `up`).
 */
export function serialized<T>(workdir: string, fn: () => Promise<T>, stateDir?: string): Promise<T> {
  const at = place(workdir);
  const lock = stateDir === undefined ? undefined : mergeLock(stateDir, workdir);
  const locked = async () => {
    await lock?.take();
    try {
      return await fn();
    } finally {
      lock?.drop();
    }
  };
  const next = at.queue.then(locked, locked);
  at.queue = next.catch(() => undefined);
  return next;
}

/**
 * Applies a view's merge steps to the working directory, or nothing when a path they touch
 * changed since the view began (its ctime at or after `startedNs`): each such path is a conflict,
 * named with the task that merged it (`who` of a merge made here after `since`), else "not a task".
 * Each file lands by a rename (atomic; a copy then a rename across filesystems). Call it inside
 * `serialized`. Paths where git or the tool keep what runs later are never written.
 */
export async function mergeSteps(
  workdir: string,
  steps: readonly MergeStep[],
  view: { startedNs: bigint; since: number; who: string },
): Promise<MergeOutcome> {
  const changed: string[] = [];
  for (const step of steps) changed.push(...(await changedSince(join(workdir, step.path), step.path, view.startedNs)));
  const at = place(workdir);
  if (changed.length > 0) {
    const after = at.done.filter((m) => m.seq > view.since);
    const by = (path: string) =>
      [...after]
        .reverse()
        .find((m) => m.paths.some((p) => p === path || path.startsWith(`${p}/`) || p.startsWith(`${path}/`)))?.who ??
      'not a task';
    return { merged: false, conflicts: [...new Set(changed)].sort().map((path) => ({ path, by: by(path) })) };
  }
  const root = await realpath(workdir);
  const refused: { path: string; reason: string }[] = [];
  const paths: string[] = [];
  for (const step of steps) {
    const made = step.op === 'put' && step.path === REPOSITORY;
    const reason = (made ? undefined : protectedPlace(step.path)) ?? (await outside(root, step.path));
    if (reason) {
      refused.push({ path: step.path, reason });
      continue;
    }
    await apply(root, step);
    paths.push(step.path);
  }
  at.done.push({ seq: ++at.seq, who: view.who, paths });
  if (at.done.length > KEPT_MERGES) at.done.shift();
  return { merged: true, paths, refused };
}

/** `abs` (and, for a folder, everything in it) changed at or after `startedNs`: the paths that did. */
async function changedSince(abs: string, path: string, startedNs: bigint): Promise<string[]> {
  const info = await lstat(abs, { bigint: true }).catch(() => undefined);
  if (!info) return [];
  if (info.ctimeNs >= startedNs) return [path];
  if (!info.isDirectory()) return [];
  const names = await readdir(abs).catch(() => [] as string[]);
  const below = await Promise.all(names.map((n) => changedSince(join(abs, n), `${path}/${n}`, startedNs)));
  return below.flat();
}

/** Why `path`'s folder is not inside the working directory (a symlinked folder), if it is not. */
async function outside(root: string, path: string): Promise<string | undefined> {
  let dir = dirname(join(root, path));
  for (;;) {
    const real = await realpath(dir).catch(() => undefined);
    if (real !== undefined) {
      const back = relative(root, real);
      return back.startsWith('..') || isAbsolute(back)
        ? `it leads outside the working directory (through ${real})`
        : undefined;
    }
    dir = dirname(dir);
  }
}

async function apply(root: string, step: MergeStep): Promise<void> {
  const abs = join(root, step.path);
  if (step.op === 'delete') return rm(abs, { recursive: true, force: true });
  await mkdir(dirname(abs), { recursive: true });
  const there = await lstat(abs).catch(() => undefined);
  if (step.dir && there) await rm(abs, { recursive: true, force: true });
  try {
    await rename(step.from, abs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    // Another filesystem: copied beside the target, then renamed over it (still one atomic step for readers).
    const temp = `${abs}.implement-agent-merge`;
    await cp(step.from, temp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    await rename(temp, abs);
  }
}
