import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { applySteps } from './merge-apply.ts';
import { mergedElsewhere, noteMerge, touches } from './merge-journal.ts';
import { mergeLock } from './merge-lock.ts';
import { protectedPlace } from './restore.ts';
import { safely } from './tree-scan.ts';
import { REPOSITORY, type MergeStep } from './view-changes.ts';

/** A path the task changed that the working directory changed too since the task's view began, and by whom. */
export type Conflict = { path: string; by: string };

export type MergeOutcome =
  | { merged: true; paths: string[]; refused: { path: string; reason: string }[] }
  | { merged: false; conflicts: Conflict[] };

type Merge = { seq: number; who: string; runId: string | undefined; paths: string[] };

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

/** The view a merge is of: its start, the merges made here before it (`mergesSoFar`), its task (`task 2`) and run; with `stateDir`, merges are noted for other processes too. */
export type MergeView = { startedNs: bigint; since: number; who: string; runId?: string; stateDir?: string };

/**
 * Applies a view's merge steps to the working directory, or nothing when a path they touch
 * changed since the view began (its ctime at or after `startedNs`): each such path is a conflict,
 * named with the task that merged it (`who` of a merge made after the view began, here or by
 * another process), `another run (<runId>)` when that task was of another run, else "not a task".
 * Each file lands by a rename (atomic; copied beside it first across filesystems), and only once
 * every file is beside its place; what each rename replaces is kept aside until the last one is
 * done: a merge that fails (a full disk, a rename refused) applies nothing and throws a MergeError
 * (merge-apply.ts). Call it inside `serialized`. Paths where git or the tool keep what
 * runs later are never written. The calls are synchronous but a copy's: a merge is a few system
 * calls per path, each cheaper than a trip to the thread pool.
 */
export async function mergeSteps(workdir: string, steps: readonly MergeStep[], view: MergeView): Promise<MergeOutcome> {
  const changed = steps.flatMap((step) => changedSince(join(workdir, step.path), step.path, view.startedNs));
  const at = place(workdir);
  if (changed.length > 0) return { merged: false, conflicts: conflicts(workdir, [...new Set(changed)].sort(), view) };
  const root = realpathSync(workdir);
  const outside = insideCheck(root);
  const refused: { path: string; reason: string }[] = [];
  const allowed: MergeStep[] = [];
  for (const step of steps) {
    const made = step.op === 'put' && step.path === REPOSITORY;
    const reason = (made ? undefined : protectedPlace(step.path)) ?? outside(step.path);
    if (reason) refused.push({ path: step.path, reason });
    else allowed.push(step);
  }
  await applySteps(root, allowed, view.who);
  const paths = allowed.map((s) => s.path);
  at.done.push({ seq: ++at.seq, who: view.who, runId: view.runId, paths });
  if (view.stateDir !== undefined)
    noteForOthers(view.stateDir, workdir, { runId: view.runId ?? '', who: view.who, paths });
  if (at.done.length > KEPT_MERGES) at.done.shift();
  return { merged: true, paths, refused };
}

/**
 * The merge noted for other processes. The files have landed: a state folder whose disk is full
 * costs only the name other processes give a conflict with this merge ("not a task").
 */
function noteForOthers(stateDir: string, workdir: string, merge: Parameters<typeof noteMerge>[2]): void {
  try {
    noteMerge(stateDir, workdir, merge);
  } catch {
    // Said by the conflict's "not a task", if one comes of it.
  }
}

/** Each path with who changed it: a merge made here after the view began, else one by another process, else no task. */
function conflicts(workdir: string, paths: string[], view: MergeView): Conflict[] {
  const here = place(workdir)
    .done.filter((m) => m.seq > view.since)
    .reverse();
  const elsewhere =
    view.stateDir === undefined ? () => undefined : mergedElsewhere(view.stateDir, workdir, view.startedNs);
  const named = (m: { who: string; runId: string | undefined }) =>
    m.runId && view.runId && m.runId !== view.runId ? `another run (${m.runId})` : m.who;
  return paths.map((path) => {
    const by = here.find((m) => m.paths.some((p) => touches(p, path))) ?? elsewhere(path);
    return { path, by: by ? named(by) : 'not a task' };
  });
}

/** `abs` (and, for a folder, everything in it) changed at or after `startedNs`: the paths that did. */
function changedSince(abs: string, path: string, startedNs: bigint): string[] {
  const info = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
  if (!info) return [];
  if (info.ctimeNs >= startedNs) return [path];
  if (!info.isDirectory()) return [];
  const names = safely(() => readdirSync(abs)) ?? [];
  return names.flatMap((n) => changedSince(join(abs, n), `${path}/${n}`, startedNs));
}

/** Why a path's folder is not inside the working directory (a symlinked folder), if it is not; each folder resolved once. */
function insideCheck(root: string): (path: string) => string | undefined {
  const seen = new Map<string, string | undefined>();
  const check = (dir: string): string | undefined => {
    if (seen.has(dir)) return seen.get(dir);
    const real = safely(() => realpathSync(dir));
    let reason: string | undefined;
    if (real === undefined) reason = check(dirname(dir));
    else {
      const back = relative(root, real);
      reason =
        back.startsWith('..') || isAbsolute(back)
          ? `it leads outside the working directory (through ${real})`
          : undefined;
    }
    seen.set(dir, reason);
    return reason;
  };
  return (path) => check(dirname(join(root, path)));
}
