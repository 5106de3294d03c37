import type { ContentStore } from '../events/bus.ts';
import type { FileChange } from '../events/agent-events.ts';
import type { Conflict } from './merge.ts';
import { currentHash, protectedPlace, restorePath } from './restore.ts';
import { storedContent } from './stored-content.ts';

export type Applied =
  | { applied: true; paths: string[]; refused: { path: string; reason: string }[] }
  | { applied: false; conflicts: Conflict[] };

/**
 * Applies a recorded change set (TaskFilesChanged's files, contents from the content store) to
 * `workdir`. With `by` (the conflict rule of a merge), nothing is applied when a path no longer
 * holds what the task found there (its `before`): each such path is a conflict, named with `by`
 * of it (who changed it last, else "not a task"). Without it, the change set is laid over what
 * is there (a site's copy, which only the run writes). Paths where git or the tool keep what
 * runs later, and contents the store does not hold (too large to keep), are refused, saying why.
 */
export async function applyChangeSet(
  workdir: string,
  files: readonly FileChange[],
  contents: ContentStore,
  by?: (path: string) => string | undefined,
): Promise<Applied> {
  if (by) {
    const conflicts: Conflict[] = [];
    for (const f of files)
      if ((await currentHash(workdir, f.path)) !== f.before)
        conflicts.push({ path: f.path, by: by(f.path) ?? 'not a task' });
    if (conflicts.length) return { applied: false, conflicts };
  }
  const paths: string[] = [];
  const refused: { path: string; reason: string }[] = [];
  for (const f of files) {
    const kept = protectedPlace(f.path);
    if (kept) {
      refused.push({ path: f.path, reason: kept });
      continue;
    }
    if (f.after === null) {
      await restorePath(workdir, f.path, null);
      paths.push(f.path);
      continue;
    }
    const bytes = await storedContent(contents, f.after, f.path);
    if (!bytes) {
      refused.push({ path: f.path, reason: 'its content is not in the content store (too large to keep)' });
      continue;
    }
    await restorePath(workdir, f.path, { kind: f.kind, bytes, mode: f.mode });
    paths.push(f.path);
  }
  return { applied: true, paths, refused };
}
