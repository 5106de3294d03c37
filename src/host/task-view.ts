import { readFileSync, lstatSync, readlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ExecuteTask } from '../events/work-commands.ts';
import { outputFiles, ownPathsIn } from '../context/own-files.ts';
import { viewHolderPrefix, viewsDir, type Confinement } from '../exec/sandbox.ts';
import { mergeSteps, mergesSoFar, serialized, type MergeOutcome } from '../workspace/merge.ts';
import { keptCopy, openCopyView, type CopyLimits } from '../workspace/copy-view.ts';
import { changesSince, type MergeStep } from '../workspace/view-changes.ts';
import { discardView, openView, viewMounts, type View } from '../workspace/view.ts';
import { sparesAhead } from '../workspace/view-holders.ts';
import { contentHash, type Content, type TreeChange } from '../workspace/work-tree.ts';
import type { TaskCapture } from '../workspace/run-trees.ts';
import { safely } from '../workspace/tree-scan.ts';

/** A task's copy-on-write view, as its execution uses it (src/workspace/view.ts). */
export type ViewSpace = {
  view: View;
  /** Why the task has a copy of the folder rather than a view: no overlay could be had. */
  fallback?: string;
  /** What the task changed since the last capture (after a recovery fix): recorded as it goes. */
  checkpoint(): TaskCapture;
  /** The task's change set since the last capture, and the steps that merge it; the holder then ends. */
  finish(): TaskCapture & { steps: MergeStep[] };
  /**
   * Merges the view into the working directory, or nothing on a conflict; `then` runs while no
   * other merge into the folder can (a commit of exactly these files).
   */
  merge<T>(steps: readonly MergeStep[], then: (outcome: MergeOutcome) => Promise<T>): Promise<T>;
  /** The holder ended and (unless `keep`) the upper layer removed: nothing of the task is left. */
  close(keep?: boolean): Promise<void>;
};

const viewDir = (stateDir: string, item: { runId: string; taskId: string }) =>
  join(viewsDir(stateDir), item.runId, item.taskId);

/** How tasks are kept apart (`execution.isolation`, but `shared`), and how big a tree a copy is made of. */
export type Isolation = { mode: 'view' | 'copy'; copyLimits: CopyLimits };

/**
 * Opens the task's view (`fresh`: a stale view of an earlier attempt is removed first; otherwise
 * one kept by a dead executor goes on): an overlay, or where none can be had (or `isolation` says
 * so) a copy of the folder. Rejects with the reasons when neither can be had.
 */
export async function openViewSpace(
  item: ExecuteTask,
  stateDir: string,
  confinement: Confinement,
  limits: { maxFileBytes: number; isolation: Isolation },
  fresh: boolean,
): Promise<ViewSpace> {
  const dir = viewDir(stateDir, item);
  if (fresh) await discardView(dir);
  const since = mergesSoFar(item.workdir);
  const { view, fallback } = await openTaskView(item, dir, stateDir, confinement, limits.isolation, !fresh);
  const excluded = ownPathsIn(item.workdir, [
    item.tasksFile,
    resolve(stateDir),
    ...outputFiles(),
    ...(item.ownFiles ?? []),
  ]);
  let last = new Map<string, TreeChange>();
  let ending: Promise<void> | undefined;
  const capture = () => {
    const now = view.read(excluded, limits.maxFileBytes);
    const changes = changesSince(last, now.changes);
    last = new Map(now.changes.map((c) => [c.path, c]));
    return { ...now, changes };
  };
  return {
    view,
    ...(fallback !== undefined ? { fallback } : {}),
    checkpoint: () => ({ changes: capture().changes, ignored: [], alongside: [] }),
    finish: () => {
      const { changes, ignored, steps } = capture();
      // Nothing runs in the view any more: its holder ends while the change set is stored and merged.
      ending = view.close();
      return { changes, ignored, alongside: [], steps };
    },
    merge: (steps, then) =>
      serialized(
        item.workdir,
        async () =>
          then(
            await mergeSteps(item.workdir, steps, {
              startedNs: view.startedNs,
              since,
              who: `task ${item.taskId}`,
              runId: item.runId,
              stateDir,
            }),
          ),
        stateDir,
      ),
    close: async (keep = false) => {
      await (ending ?? view.close());
      if (keep) return;
      // A copy is removed before the discard sees its folder: no overlay spare is made for it.
      if (view.bound) await rm(dir, { recursive: true, force: true });
      await discardView(dir);
    },
  };
}

/** The task's overlay, or its copy (and why: the overlay's failure) when it has one. */
async function openTaskView(
  item: ExecuteTask,
  dir: string,
  stateDir: string,
  confinement: Confinement,
  isolation: Isolation,
  resume: boolean,
): Promise<{ view: View; fallback?: string }> {
  const options = viewOptions(item.workdir, stateDir, confinement);
  const { through } = options;
  const copy = () => {
    if (confinement.kind !== 'bwrap')
      throw new Error(
        `a copy needs bubblewrap to bind it at the folder's path, and commands run unconfined (${confinement.why})`,
      );
    return openCopyView(item.workdir, dir, { through, limits: isolation.copyLimits, resume });
  };
  // A task resumed in the copy its dead executor left goes on in it.
  if (isolation.mode === 'copy' || (resume && keptCopy(dir))) return { view: await copy() };
  try {
    return {
      view: await openView(item.workdir, dir, options),
    };
  } catch (error) {
    const why = (error as Error).message;
    try {
      return { view: await copy(), fallback: why };
    } catch (second) {
      throw new Error(`${why}; nor a copy: ${(second as Error).message}`);
    }
  }
}

/** How the views of `workdir`'s tasks are mounted. */
function viewOptions(workdir: string, stateDir: string, confinement: Confinement) {
  return {
    prefix: viewHolderPrefix(confinement),
    hide: viewsDir(stateDir),
    // The repository and the tool's state stay shared: git's own store and the sandbox home's caches are not a task's change.
    through: [join(workdir, '.git'), ...ownPathsIn(workdir, [resolve(stateDir)]).map((p) => join(workdir, p))],
  };
}

/**
 * Views of `workdir`'s tasks mounted ahead of them (a site's copy of a run, unpacked as the run
 * starts): its first tasks take a ready view, as later ones do. Nothing when tasks get no overlay
 * here: a holder that fails fails its kind, and the first task says why.
 */
export function viewsAhead(
  workdir: string,
  stateDir: string,
  confinement: Confinement,
  isolation: 'view' | 'copy' | 'shared',
): void {
  if (isolation !== 'view') return;
  sparesAhead(viewMounts(workdir, viewOptions(workdir, stateDir, confinement)), viewsDir(stateDir));
}

/** What the working directory holds at `path` now (undefined: nothing, not a file, or unreadable): a view's lower layer is it. */
export function contentNow(workdir: string, path: string): Content | undefined {
  const abs = join(workdir, path);
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (!st || (!st.isFile() && !st.isSymbolicLink())) return undefined;
  const bytes = safely(() => (st.isSymbolicLink() ? Buffer.from(readlinkSync(abs)) : readFileSync(abs)));
  if (!bytes) return undefined;
  const kind = st.isSymbolicLink() ? 'link' : 'file';
  return { kind, hash: contentHash(bytes), mode: st.mode & 0o7777, size: bytes.length, bytes };
}
