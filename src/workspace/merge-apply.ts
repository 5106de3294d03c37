import { lstatSync, mkdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MergeError } from '../errors.ts';
import type { MergeStep } from './view-changes.ts';

type Put = Extract<MergeStep, { op: 'put' }>;
/** A put moved (or, from another filesystem, copied) beside its target, to be renamed over it. */
type Staged = { step: Put; temp: string; moved: boolean; made: string | undefined };

/**
 * Applies merge steps to `root` in two passes, so that a merge that fails half way (a full disk)
 * leaves the folder as it was: first every put is brought beside its target (a rename on one
 * filesystem; a copy from another, where the space is taken), and on a failure each is put back
 * and the folders made for them removed; then deletes and renames, which take no new space, in
 * order. Throws a MergeError naming the path and the reason when nothing was applied.
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
  let next = 0;
  for (const step of steps) {
    const abs = join(root, step.path);
    if (step.op === 'delete') {
      rmSync(abs, { recursive: true, force: true });
      continue;
    }
    const { temp } = staged[next++]!;
    if (step.dir && lstatSync(abs, { throwIfNoEntry: false })) rmSync(abs, { recursive: true, force: true });
    renameSync(temp, abs);
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
