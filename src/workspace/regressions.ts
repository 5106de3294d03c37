import { namedPaths } from '../context/project-files.ts';
import type { Regression } from '../events/agent-events.ts';
import type { SuccessCriterion } from '../tasklist/success-criterion.ts';
import type { TaskFiles } from './run-changes.ts';

/** The files a criterion reads, as far as its text tells: the path it names, the paths in its command. */
export function criterionReads(c: SuccessCriterion): string[] {
  return c.kind === 'file_exists' ? [c.path] : namedPaths([c.command], 16);
}

/**
 * Who may have broken task `taskId`'s criterion: the tasks recorded after it whose changes touched
 * a file the criterion reads (the first of them first); when none did, or the criterion names no
 * file, every task that changed the tree after it.
 */
export function suspectsFor(
  taskId: string,
  reads: readonly string[],
  tasks: readonly TaskFiles[],
): Pick<Regression, 'suspects' | 'suspectedBy'> {
  const own = tasks.find((t) => t.taskId === taskId);
  const after = tasks.filter((t) => t.taskId !== taskId && (own === undefined || t.seq > own.seq) && !t.undone);
  const touches = (t: TaskFiles) =>
    t.files.some((f) => reads.some((r) => f.path === r || f.path.startsWith(`${r.replace(/\/$/, '')}/`)));
  const byFiles = after.filter(touches).map((t) => t.taskId);
  return byFiles.length > 0
    ? { suspects: byFiles, suspectedBy: 'files' }
    : { suspects: after.map((t) => t.taskId), suspectedBy: 'order' };
}
