import { createHash } from 'node:crypto';
import type { PlanInput } from '../plan/plan-schema.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';
import { dataBlock } from '../data-block.ts';
import { estimateTokens } from './compress.ts';
import { isOwnPath } from './own-files.ts';
import { namedPaths, renderTree, type ProjectFile, type ProjectFiles } from './project-files.ts';

/** A file as the prompt shows it: read, or why not (`own`: the tool's own output). */
type Shown = Omit<ProjectFile, 'unread'> & { unread?: ProjectFile['unread'] | 'own' };

export type ProjectContext = {
  /** The file tree: the same for every task planned at one moment, so it leads the prompt. */
  tree: string;
  /** The named files and the files earlier tasks of the run changed, within the budget. */
  files: string;
  /** What the plan was made from: if one of these changes before the task starts, plan again. */
  inputs: PlanInput[];
  /** Checksum of the named files only: part of the plan-cache key. */
  namedChecksum: string;
  tokens: number;
};

const MAX_CHANGED = 5;

/** What the prompt says in place of a file it does not show. */
const NOT_SHOWN = {
  missing: '(does not exist yet)',
  outside: '(link outside the working directory: not shown)',
  'not-a-file': '(not a regular file: not shown)',
  own: '(written by implement-agent itself, not by a task: not shown)',
} as const;

/**
 * What a planner must see of the project, as the origin workflow gave its implementer: the tree,
 * the files the task names, and the files earlier tasks of this run changed (newest first).
 * Paths relative to the working directory (a folder with all it holds): `exclude` is never a
 * task's change (the task list the tool ticks); `hidden` is neither a change nor shown when
 * named (the state folder, a log the tool's output is redirected to).
 */
export async function loadProjectContext(
  project: ProjectFiles,
  task: TaskSpec,
  options: {
    since?: number;
    budgetTokens: number;
    treeEntries: number;
    exclude?: readonly string[];
    hidden?: readonly string[];
  },
): Promise<ProjectContext> {
  const hidden = options.hidden ?? [];
  const exclude = [...(options.exclude ?? []), ...hidden];
  const tree = await project.tree();
  const named = await Promise.all(
    namedPaths([task.title, ...task.description]).map(
      (p): Promise<Shown> =>
        isOwnPath(p, hidden)
          ? Promise.resolve({ path: p, checksum: null, content: '', truncated: false, unread: 'own' })
          : project.read(p),
    ),
  );
  const namedSet = new Set(named.map((f) => f.path));
  const since = options.since;
  const changedPaths =
    since === undefined
      ? []
      : tree.entries
          .filter((e) => !e.dir && e.mtimeMs >= since && !namedSet.has(e.path) && !isOwnPath(e.path, exclude))
          .sort((a, b) => b.mtimeMs - a.mtimeMs)
          .slice(0, MAX_CHANGED)
          .map((e) => e.path);
  const changed = await Promise.all(changedPaths.map((p) => project.read(p)));

  let budget = options.budgetTokens * 4;
  const sections: string[] = [];
  const inputs: PlanInput[] = named.map((f) => ({ path: f.path, checksum: f.checksum }));
  const show = (heading: string, list: Shown[], record: boolean) => {
    const parts: string[] = [];
    for (const file of list) {
      if (file.checksum === null) {
        parts.push(`### ${file.path}\n${NOT_SHOWN[file.unread ?? 'missing']}`);
        continue;
      }
      if (budget <= 200) break;
      const body = file.content.slice(0, budget);
      budget -= body.length;
      const cut = file.truncated || body.length < file.content.length ? '\n(… cut to fit the prompt)' : '';
      parts.push(`${dataBlock(`### ${file.path}`, body)}${cut}`);
      if (record) inputs.push({ path: file.path, checksum: file.checksum });
    }
    if (parts.length) sections.push(`## ${heading}\n${parts.join('\n\n')}`);
  };
  show('Files this task names', named, false);
  show('Files earlier tasks of this run changed', changed, true);
  const files = sections.join('\n\n');
  const namedChecksum = createHash('sha256')
    .update(named.map((f) => `${f.path}:${f.checksum ?? '-'}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const treeText = renderTree(
    { ...tree, entries: tree.entries.filter((e) => !isOwnPath(e.path, hidden)) },
    options.treeEntries,
  );
  return { tree: treeText, files, inputs, namedChecksum, tokens: estimateTokens(treeText) + estimateTokens(files) };
}
