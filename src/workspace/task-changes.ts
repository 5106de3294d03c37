import type { FileChange } from '../events/agent-events.ts';
import type { Content, TreeChange } from './work-tree.ts';

/** What one task's changes come to as a record, and the contents to store before it is appended. */
export type TaskChanges = {
  files: FileChange[];
  skipped: { path: string; reason: string }[];
  contents: Map<string, Buffer>;
};

/**
 * A task's changes as TaskFilesChanged records them: each path with its before and after hashes;
 * a change is `stored` (showable, undoable) when both sides it has are kept and fit in the task's
 * cap, otherwise it is named in `skipped` with why. Pure: the caller stores `contents`.
 */
export function taskChanges(changes: readonly TreeChange[], maxTaskBytes: number): TaskChanges {
  const contents = new Map<string, Buffer>();
  const files: FileChange[] = [];
  const skipped: { path: string; reason: string }[] = [];
  let bytes = 0;
  for (const change of changes) {
    const sides = [change.before, change.after].filter((c): c is Content => c !== undefined);
    const missing = sides.find((c) => c.bytes === undefined);
    const size = sides.reduce((n, c) => n + (contents.has(c.hash) ? 0 : (c.bytes?.length ?? 0)), 0);
    let stored = false;
    if (missing)
      skipped.push({
        path: change.path,
        reason: `${missing === change.before ? 'before' : 'after'} content not kept (${missing.size} bytes: over changes.maxFileBytes or changes.maxKeptBytes)`,
      });
    else if (bytes + size > maxTaskBytes)
      skipped.push({
        path: change.path,
        reason: `over the task's cap of ${maxTaskBytes} bytes (changes.maxTaskBytes)`,
      });
    else {
      stored = true;
      bytes += size;
      for (const c of sides) contents.set(c.hash, c.bytes!);
    }
    const kind = (change.after ?? change.before)!.kind;
    files.push({
      path: change.path,
      kind,
      ...(change.before && change.before.kind !== kind ? { beforeKind: change.before.kind } : {}),
      before: change.before?.hash ?? null,
      after: change.after?.hash ?? null,
      beforeMode: change.before?.mode ?? null,
      mode: change.after?.mode ?? null,
      size: (change.after ?? change.before)!.size,
      stored,
    });
  }
  return { files, skipped, contents };
}
