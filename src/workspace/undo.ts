import type { TreeChange, WorkTree } from './work-tree.ts';
import { restorePath } from './restore.ts';

export type Undone = { restored: string[]; kept: { path: string; reason: string }[] };

/**
 * Puts back what a failed task changed, from the contents the tree kept: the working directory
 * as the task found it. Nothing is undone while other tasks run in the same folder (their work
 * may be among the changes); a content too large to keep is left, and named.
 */
export async function undoChanges(
  tree: WorkTree,
  changes: readonly TreeChange[],
  alongside: readonly string[],
): Promise<Undone> {
  if (alongside.length > 0) {
    const reason = `not undone: task(s) ${alongside.join(', ')} were running in the same folder and may have written it`;
    return { restored: [], kept: [...new Set(changes.map((c) => c.path))].map((path) => ({ path, reason })) };
  }
  const undone: Undone = { restored: [], kept: [] };
  for (const change of [...changes].reverse()) {
    const before = change.before;
    if (before && !before.bytes) {
      undone.kept.push({
        path: change.path,
        reason: `its content before the task was not kept (${before.size} bytes: over changes.maxFileBytes or changes.maxKeptBytes)`,
      });
      continue;
    }
    try {
      await restorePath(
        tree.workdir,
        change.path,
        before ? { kind: before.kind, bytes: before.bytes!, mode: before.mode } : null,
      );
      undone.restored.push(change.path);
    } catch (error) {
      undone.kept.push({ path: change.path, reason: (error as Error).message });
    }
  }
  // What was put back is what the tree holds from now on.
  tree.refresh();
  return undone;
}
