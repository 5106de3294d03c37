import { existsSync, mkdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Bound } from '../exec/sandbox.ts';
import { viewChanges, type ViewChanges } from './view-changes.ts';
import { freshHolder, heldAgain, spareAhead, type Holder, type ViewMounts } from './view-holders.ts';

/**
 * A task's private, copy-on-write view of the working directory: a holder process owns a user
 * and mount namespace in which an overlay (the working directory below, the task's upper layer
 * above) is mounted on the working directory's own path. Every command of the task enters that
 * namespace (`enter`), so it sees and writes the view at the usual path; the executor reads it at
 * `root`. The holder's stdin is a pipe from this process: when the executor dies, it ends too.
 */
export type View = {
  workdir: string;
  /** Where this process sees the view's working directory: `/proc/<holder>/root<workdir>`. */
  root: string;
  /** The upper layer: exactly what the task wrote (whiteouts for what it deleted). */
  upper: string;
  /** The view's folder (`upper`, the overlay's work folder, the start stamp). */
  dir: string;
  /** The ctime (ns) of the view's start stamp: a path of the working directory changed at or after it changed since the view began. */
  startedNs: bigint;
  /** What runs before a command so that it runs in the view (after a network namespace's own nsenter). */
  enter: string[];
  /** A copy instead of an overlay (copy-view.ts): what bubblewrap binds at the working directory's path. */
  bound?: Bound;
  /** The task's change set so far: what it wrote, made and deleted (the tool's own `excluded` paths left out). */
  read(excluded: readonly string[], maxFileBytes: number): ViewChanges;
  /** Ends the holder (the overlay goes with its namespace); the upper layer stays until `discard`. */
  close(): Promise<void>;
};

/** The view's start stamp, in its folder: a view whose folder has one is taken up again by a resumed task. */
export const VIEW_STAMP = 'started';

// The options of mount(8) split on commas, overlay's layers on colons: such paths cannot be given.
const UNMOUNTABLE = /[,:\\\n]/;

/** How a view of `workdir` is mounted (`openView`'s options): what the holders of one kind share. */
export type ViewOptions = {
  prefix?: readonly string[];
  hide?: string;
  /** At most two paths in the working directory that are not the task's own (the repository, the tool's state): the real ones, shared. */
  through?: readonly string[];
};

/** The mounts of a view of `workdir`, besides its layers. */
export function viewMounts(workdir: string, options: ViewOptions): ViewMounts {
  // The views' folder, when it lies in the working directory, is a loop inside the overlay (ELOOP
  // on every walk, and other tasks' unfinished files): a tmpfs hides it from the task.
  const hide = options.hide !== undefined && !relative(workdir, options.hide).startsWith('..') ? options.hide : '';
  const [through1 = '', through2 = ''] = (options.through ?? []).filter((p) => existsSync(p));
  if (/\n/.test(through1 + through2)) throw new Error(`a newline in ${through1} or ${through2}`);
  return { prefix: options.prefix ?? [], workdir, hide, through: [through1, through2] };
}

/**
 * The view in `dir` (`<views>/<run>/<task>`): a holder's overlay mounted ahead of need on a fresh
 * upper layer (view-holders.ts), moved here; or, when `dir` holds an upper layer already (a task
 * resumed after its executor died goes on from what its commands wrote), that layer mounted again.
 * `prefix` runs the holder (the network namespace commands enter, so theirs is its parent).
 * Rejects with the reason when no overlay can be had here.
 */
export async function openView(workdir: string, dir: string, options: ViewOptions = {}): Promise<View> {
  const upper = join(dir, 'up');
  const work = join(dir, 'wk');
  const unmountable = [workdir, dir].find((p) => UNMOUNTABLE.test(p));
  if (unmountable !== undefined)
    throw new Error(
      `an overlay cannot be mounted with a comma, colon, backslash or newline in its path: ${unmountable}`,
    );
  const mounts = viewMounts(workdir, options);
  const resumed = existsSync(join(dir, VIEW_STAMP)) && existsSync(upper);
  let holder: Holder;
  if (resumed) {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    holder = await heldAgain(mounts, upper, work);
  } else {
    rmSync(dir, { recursive: true, force: true });
    // The spares' folders lie beside the runs' (`<views>/<run>/<task>`): one filesystem, hidden alike.
    holder = await freshHolder(mounts, dir, dirname(dirname(dir)));
    // Taken at hand-over: the view begins when the task gets it, not when its overlay was mounted.
    stampAfterTick(join(dir, VIEW_STAMP));
  }
  const startedNs = statSync(join(dir, VIEW_STAMP), { bigint: true }).ctimeNs;
  const pid = holder.pid;
  const root = `/proc/${pid}/root${workdir}`;
  return {
    workdir,
    root,
    upper,
    dir,
    startedNs,
    enter: ['nsenter', '-t', String(pid), '-U', '-m', '--preserve-credentials', `--wdns=${workdir}`, '--'],
    read: (excluded, maxFileBytes) => viewChanges({ upper, workdir, root }, excluded, maxFileBytes),
    close: () => holder.end(),
  };
}

/**
 * The view's folder removed: nothing of the task is left; a spare is then made for the next task.
 * Off the event loop: on a loaded machine a removal took up to 30 ms, which the other tasks of
 * this executor waited out.
 */
export async function discardView(dir: string): Promise<void> {
  const removed = existsSync(dir);
  await rm(dir, { recursive: true, force: true });
  // Not when a task starts (a stale view removed first): a spawn then would delay it.
  if (removed) spareAhead();
  // The run's folder goes with its last view; at once, so that no view opened meanwhile (its
  // folder made, then its spare moved in) loses it in between.
  try {
    rmdirSync(dirname(dir));
  } catch {
    // Another task's view is still there.
  }
}

/**
 * Writes the start stamp in a tick of the filesystem's clock (coarse: a few ms) after the one in
 * which this began: a change made before the view began never shares its ctime, so a change at
 * or after the stamp's ctime is one made since (what the merge calls a conflict).
 */
export function stampAfterTick(stamp: string): void {
  writeFileSync(stamp, '');
  const first = statSync(stamp, { bigint: true }).ctimeNs;
  while (statSync(stamp, { bigint: true }).ctimeNs === first) writeFileSync(stamp, '');
}
