import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { folderKey } from './merge-lock.ts';
import { safely } from './tree-scan.ts';

/**
 * The merges into one folder by every process that shares the state folder, one a line, written
 * under the merge lock: a conflict with a merge made by another process (another executor under
 * `up`, another run) is named with its run, not taken for a change by no task.
 */
const EntrySchema = z.object({
  /** When the merge's renames were done (ms since the epoch). */
  at: z.number(),
  pid: z.number(),
  runId: z.string(),
  who: z.string(),
  paths: z.array(z.string()),
});
export type MergeEntry = z.infer<typeof EntrySchema>;

/** Past this size the journal starts again: what it held is older than any view that could still conflict with it, but for a rare long task. */
const MAX_BYTES = 1 << 20;

const journalOf = (stateDir: string, workdir: string) => join(stateDir, `merges-${folderKey(stateDir, workdir)}.jsonl`);

/** `a` and `b` are one path, or one holds the other. */
export const touches = (a: string, b: string): boolean => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

/** A merge into `workdir` noted for the other processes (call it inside the merge lock). */
export function noteMerge(stateDir: string, workdir: string, merge: Omit<MergeEntry, 'at' | 'pid'>): void {
  const file = journalOf(stateDir, workdir);
  if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) > MAX_BYTES) writeFileSync(file, '');
  appendFileSync(file, `${JSON.stringify({ at: Date.now(), pid: process.pid, ...merge })}\n`);
}

/** The latest merge by another process that ended at or after `startedNs` (a view's start) and touched a path, if any. */
export function mergedElsewhere(
  stateDir: string,
  workdir: string,
  startedNs: bigint,
): (path: string) => MergeEntry | undefined {
  const text = safely(() => readFileSync(journalOf(stateDir, workdir), 'utf8')) ?? '';
  const entries = text
    .split('\n')
    .flatMap((line) => {
      const parsed = EntrySchema.safeParse(safely(() => JSON.parse(line) as unknown));
      return parsed.success ? [parsed.data] : [];
    })
    // `at` is rounded down to the ms: a merge in the ms the view began may have ended after it.
    .filter((e) => e.pid !== process.pid && BigInt(e.at + 1) * 1_000_000n > startedNs)
    .reverse();
  return (path) => entries.find((e) => e.paths.some((p) => touches(p, path)));
}
