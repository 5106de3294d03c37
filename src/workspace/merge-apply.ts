import { linkSync, lstatSync, mkdirSync, renameSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MergeError } from '../errors.ts';
import type { MergeStep } from './view-changes.ts';

type Put = Extract<MergeStep, { op: 'put' }>;
/** A put moved (or, from another filesystem, copied) beside its target, to be renamed over it. */
type Staged = { step: Put; temp: string; moved: boolean; made: string | undefined };
/** What a path held, kept aside until the second pass ends: a hard link to it (the path still holds it) or the thing moved. */
type Aside = { path: string; linked: boolean };
/** A step of the second pass done, with what its path held. */
type Done = { step: MergeStep; staged: Staged | undefined; aside: Aside | undefined };

const ASIDE = '.implement-agent-aside';

/**
 * Applies merge steps to `root` all or nothing. First every put is brought beside its target (a
 * rename on one filesystem; a copy from another, where the space is taken). Then, in order, each
 * delete and put takes its path, what the path held kept aside (a hard link to a file, so the
 * rename over it stays atomic; a rename for a folder or a delete) until every step is done, and
 * only then removed. A step that fails in either pass (a full disk, an immutable file, a mount
 * point, a folder where a file goes) undoes those before it: what was aside goes back, each put
 * back where it came from, the folders made for them removed. Throws a MergeError naming the path
 * and the reason.
 */
export async function applySteps(root: string, steps: readonly MergeStep[], who: string): Promise<void> {
  const staged: Staged[] = [];
  for (const step of steps) {
    if (step.op !== 'put') continue;
    try {
      staged.push(await stage(root, step));
    } catch (error) {
      for (const s of staged.reverse()) unstage(root, s);
      throw new MergeError(root, step.path, who, error);
    }
  }
  const done: Done[] = [];
  let next = 0;
  for (const step of steps) {
    const s = step.op === 'put' ? staged[next++] : undefined;
    try {
      done.push(take(join(root, step.path), step, s));
    } catch (error) {
      const lost = undo(root, done.reverse(), staged);
      throw new MergeError(root, step.path, who, error, lost);
    }
  }
  // Every step is done: what the paths held goes. A copy that cannot be removed is left under its name.
  for (const { aside } of done) if (aside) safelyRemove(aside);
}

/** One step of the second pass: what `abs` holds kept aside, then the put renamed into place (or the path deleted). */
function take(abs: string, step: MergeStep, staged: Staged | undefined): Done {
  const aside = keepAside(abs, step.op === 'put' && !step.dir);
  try {
    if (staged) renameSync(staged.temp, abs);
    return { step, staged, aside };
  } catch (error) {
    if (aside?.linked) unlinkSync(aside.path);
    else if (aside) renameSync(aside.path, abs);
    throw error;
  }
}

/**
 * What `abs` holds, kept under `abs` + ASIDE: a hard link when a file is to be renamed over it
 * (readers see the old file until the new one lands), else moved there. None when there is
 * nothing (looked up first: a failed call costs more than a lookup), or when a folder is where a
 * file goes (the rename over it then says so, EISDIR).
 */
function keepAside(abs: string, link: boolean): Aside | undefined {
  const held = lstatSync(abs, { throwIfNoEntry: false });
  if (!held || (link && held.isDirectory())) return undefined;
  const path = `${abs}${ASIDE}`;
  const keep = (linked: boolean) => (linked ? linkSync(abs, path) : renameSync(abs, path));
  try {
    keep(link);
    return { path, linked: link };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') {
      // Left by a merge that died: ours by its name.
      rmSync(path, { recursive: true, force: true });
      keep(link);
      return { path, linked: link };
    }
    // No hard link here (a filesystem without them, too many links): moved aside, which an
    // immutable file or a mount point refuses too.
    if (!link) throw error;
    keep(false);
    return { path, linked: false };
  }
}

/**
 * The second pass undone, newest first: each put's file back beside its target, what was kept
 * aside back in its place; then every put (all were staged) back where it came from. The paths
 * that could not be put back, with where what they held is kept.
 */
function undo(root: string, done: readonly Done[], staged: readonly Staged[]): string[] {
  const lost: string[] = [];
  for (const { step, staged: put, aside } of done) {
    const abs = join(root, step.path);
    try {
      if (put) renameSync(abs, put.temp);
      if (aside) renameSync(aside.path, abs);
    } catch {
      lost.push(aside ? `${step.path} (kept as ${step.path}${ASIDE})` : step.path);
    }
  }
  for (const s of [...staged].reverse()) unstage(root, s);
  return lost;
}

function safelyRemove({ path, linked }: Aside): void {
  try {
    if (linked) unlinkSync(path);
    else rmSync(path, { recursive: true, force: true });
  } catch {
    // The task's files have landed; only the old copy stays, under a name that says whose it is.
  }
}

async function stage(root: string, step: Put): Promise<Staged> {
  const abs = join(root, step.path);
  const temp = `${abs}.implement-agent-merge`;
  const made = mkdirSync(dirname(abs), { recursive: true });
  const staged: Staged = { step, temp, moved: true, made };
  try {
    // Left by a merge that died: ours by its name.
    rmSync(temp, { recursive: true, force: true });
    renameSync(step.from, temp);
    return staged;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') {
      unstage(root, { ...staged, moved: false });
      throw error;
    }
  }
  try {
    await cp(step.from, temp, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    return { ...staged, moved: false };
  } catch (error) {
    unstage(root, { ...staged, moved: false });
    throw error;
  }
}

/** A staged put undone: moved back to the upper layer, or its copy removed; the folders made for it removed when empty. */
function unstage(root: string, { step, temp, moved, made }: Staged): void {
  if (moved) renameSync(temp, step.from);
  else rmSync(temp, { recursive: true, force: true });
  if (made === undefined) return;
  for (let dir = dirname(join(root, step.path)); dir.length >= made.length; dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      // Another put's file is in it still (removed with that put), or someone else's.
      return;
    }
  }
}
