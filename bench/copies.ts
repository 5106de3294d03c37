import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCopyView } from '../src/workspace/copy-view.ts';
import { mergeSteps, serialized } from '../src/workspace/merge.ts';
import { discardView } from '../src/workspace/view.ts';
import type { Row } from './components.ts';
import { fmt, percentile } from './harness.ts';
import { sourceTree, viewsRow } from './views.ts';

type Timings = { setUp: number[]; read: number[]; merge: number[]; teardown: number[] };

/**
 * What a task's copy of the folder costs (the fallback where no overlay can be had, issue 36),
 * per project size: the copy made (with its manifest), the change set read by a walk of the
 * copy, the merge under the lock, and the copy removed after. Each "task" changes three files and
 * creates one in its copy (written here, not timed: the task's own work). O(files in the tree),
 * which is why it is kept to small trees (`execution.copyLimits`).
 */
export async function copyCost(tasks: number, sizes: readonly number[] = [1_000, 5_000]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const files of sizes) rows.push(...(await oneSize(tasks, files)));
  return rows;
}

async function oneSize(tasks: number, files: number): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-copies-'));
  const workdir = join(dir, 'w');
  await sourceTree(workdir, files);
  const stateDir = join(dir, 'state');
  const at: Timings = { setUp: [], read: [], merge: [], teardown: [] };
  const loadBefore = loadavg()[0]!;
  try {
    for (let t = 1; t <= tasks; t++) await oneTask(workdir, stateDir, files, t, at);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const load = `load average ${fmt(loadBefore, 1)} then ${fmt(loadavg()[0]!, 1)}`;
  const median = (xs: number[]) => percentile(xs, 50);
  const perTask = at.setUp.map((s, i) => s + at.read[i]! + at.merge[i]!);
  return [
    viewsRow(
      `copy fallback, per task, ${files}-file project, 4 files changed: copy + change set + merge (median of ${tasks})`,
      median(perTask),
      `${fmt((median(perTask) * 1000) / files, 1)} µs per file of the tree; ${load}`,
    ),
    viewsRow(`of it, the copy of the ${files} files and its manifest`, median(at.setUp), 'median; O(files)'),
    viewsRow('of it, the change set: a walk of the copy against its manifest', median(at.read), 'median; O(files)'),
    viewsRow('of it, the merge (the lock, the check, the renames)', median(at.merge), 'median; as a view'),
    viewsRow('after the outcome: the copy removed', median(at.teardown), 'median; not on the path to the next task'),
  ];
}

async function oneTask(workdir: string, stateDir: string, files: number, t: number, at: Timings): Promise<void> {
  const dir = join(stateDir, 'views', 'bench', String(t));
  const dirs = files / 10;
  const t0 = performance.now();
  const view = await openCopyView(workdir, dir, {
    through: [],
    limits: { maxFiles: 2 * files, maxBytes: 1 << 30 },
    resume: false,
  });
  at.setUp.push(performance.now() - t0);
  for (const k of [0, 1, 2])
    await writeFile(join(view.root, `pkg${(t * 3 + k) % dirs}`, 'src', 'm1.ts'), `export const changed = ${t};\n`);
  await writeFile(join(view.root, `pkg${t % dirs}`, `new${t}.ts`), `export const n = ${t};\n`);
  const t1 = performance.now();
  const found = view.read([], 4 << 20);
  at.read.push(performance.now() - t1);
  const t2 = performance.now();
  const merged = await serialized(
    workdir,
    () => mergeSteps(workdir, found.steps, { startedNs: view.startedNs, since: 0, who: `task ${t}` }),
    stateDir,
  );
  at.merge.push(performance.now() - t2);
  const t3 = performance.now();
  // As the executor does: the copy removed on the thread pool, then its folder.
  await rm(dir, { recursive: true, force: true });
  await discardView(dir);
  at.teardown.push(performance.now() - t3);
  if (found.changes.length !== 4 || !merged.merged)
    throw new Error(`expected 4 merged changes, got ${found.changes.length}`);
}
