import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { mergeSteps, serialized } from '../src/workspace/merge.ts';
import { RunTrees } from '../src/workspace/run-trees.ts';
import { viewChanges } from '../src/workspace/view-changes.ts';
import { endSpareHolders } from '../src/workspace/view-holders.ts';
import { discardView, openView } from '../src/workspace/view.ts';
import type { Row } from './components.ts';
import { fmt, percentile } from './harness.ts';

const TARGET_MS = 5;
/** The last tenth of the tasks may cost at most this much more than the first: a run's per-task cost stays flat. */
const FLAT = 1.2;

type Timings = { setUp: number[]; read: number[]; merge: number[]; cpu: number[]; teardown: number[]; spawn: number[] };

/** This process's CPU time since `from` (µs from process.cpuUsage), in ms. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
};

/**
 * What a task's own view costs (issue 36), against the stat walk it replaces, in a project of
 * `files` files: each "task" takes a view (a spare holder's overlay, mounted ahead), runs one
 * command in it that changes three files and creates one (not timed: the task's own work, and
 * a plain spawn of the same command beside it), then its change set is read from the upper layer
 * and merged into the folder under the merge lock, and the view closed. Beside it, the stat walk
 * per task of `execution.isolation: "shared"` over the same tree. The per-task cost of the first
 * and the last tenth of the tasks shows whether it stays flat as a run grows.
 */
/** A row of the views area, in ms: the copy fallback's rows (copies.ts) stand beside these. */
export const viewsRow = (measure: string, value: number, note: string): Row => ({
  area: 'views',
  measure,
  value,
  unit: 'ms',
  note,
});

/** A project of `files` small source files, ten to a package: the tree both isolation benches run in. */
export async function sourceTree(workdir: string, files: number): Promise<void> {
  for (let d = 0; d < files / 10; d++) {
    await mkdir(join(workdir, `pkg${d}`, 'src'), { recursive: true });
    for (let f = 0; f < 10; f++)
      await writeFile(join(workdir, `pkg${d}`, 'src', `m${f}.ts`), `export const v${f} = ${d};\n`);
  }
}

export async function viewCost(tasks: number, files = 10_000): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-views-'));
  const workdir = join(dir, 'w');
  await sourceTree(workdir, files);
  const stateDir = join(dir, 'state');
  const at: Timings = { setUp: [], read: [], merge: [], cpu: [], teardown: [], spawn: [] };
  const loadBefore = loadavg()[0]!;
  try {
    // The first view of a folder has no spare yet: a run pays it once.
    const first = await openView(workdir, join(stateDir, 'views', 'bench', '0'));
    await first.close();
    await discardView(join(stateDir, 'views', 'bench', '0'));
    for (let t = 1; t <= tasks; t++) await oneTask(workdir, stateDir, t, at);
    const walks = await statWalks(workdir, Math.min(tasks, 20));
    return rows(tasks, files, at, walks, `${fmt(loadBefore, 1)} then ${fmt(loadavg()[0]!, 1)}`);
  } finally {
    await endSpareHolders();
    await rm(dir, { recursive: true, force: true });
  }
}

async function oneTask(workdir: string, stateDir: string, t: number, at: Timings): Promise<void> {
  const viewDir = join(stateDir, 'views', 'bench', String(t));
  let cpu = process.cpuUsage();
  const t0 = performance.now();
  const view = await openView(workdir, viewDir);
  at.setUp.push(performance.now() - t0);
  let used = cpuSince(cpu);
  const paths = [0, 1, 2].map((k) => `pkg${(t * 3 + k) % 1000}/src/m1.ts`);
  const script = `${paths.map((p) => `echo "export const changed = ${t};" > ${p}`).join('; ')}; echo "export const n = ${t};" > pkg${t % 1000}/new${t}.ts`;
  await execa(view.enter[0]!, [...view.enter.slice(1), 'sh', '-c', script]);
  const t1 = performance.now();
  await execa('true', { cwd: workdir });
  at.spawn.push(performance.now() - t1);
  cpu = process.cpuUsage();
  const t2 = performance.now();
  const found = viewChanges(view, [], 4 << 20);
  at.read.push(performance.now() - t2);
  // As the executor does: the holder ends while the view is merged.
  const ending = view.close();
  const t3 = performance.now();
  const merged = await serialized(
    workdir,
    () => mergeSteps(workdir, found.steps, { startedNs: view.startedNs, since: 0, who: `task ${t}` }),
    stateDir,
  );
  at.merge.push(performance.now() - t3);
  used += cpuSince(cpu);
  at.cpu.push(used);
  // After the outcome is recorded, off the task's path: the holder's end, the view's removal.
  const t4 = performance.now();
  await ending;
  await discardView(viewDir);
  at.teardown.push(performance.now() - t4);
  if (found.changes.length !== 4 || !merged.merged)
    throw new Error(`expected 4 merged changes, got ${found.changes.length}`);
}

function rows(tasks: number, files: number, at: Timings, walks: number[], load: string): Row[] {
  const perTask = at.setUp.map((s, i) => s + at.read[i]! + at.merge[i]!);
  const median = percentile(perTask, 50);
  const spawn = percentile(at.spawn, 50);
  const cpu = percentile(at.cpu, 50);
  const verdict = (ms: number) => (ms <= TARGET_MS ? 'met' : 'missed');
  const tenth = Math.max(1, Math.floor(tasks / 10));
  const [early, late] = [percentile(perTask.slice(0, tenth), 50), percentile(perTask.slice(-tenth), 50)];
  // CPU time is what the steps cost here whatever else the machine runs; wall time waits for a core too.
  const [earlyCpu, lateCpu] = [percentile(at.cpu.slice(0, tenth), 50), percentile(at.cpu.slice(-tenth), 50)];
  return [
    viewsRow(
      `per task, ${files}-file project, 4 files changed: view set-up + change set + merge (median of ${tasks})`,
      median,
      `target at most ${TARGET_MS} ms: ${verdict(median)} in wall time, ${verdict(cpu)} in CPU time (${fmt(cpu, 2)} ms, median); p90 ${fmt(percentile(perTask, 90), 1)} ms; ${fmt(median / spawn, 2)}x a plain spawn of \`true\` (${fmt(spawn, 1)} ms); load average ${load} on ${availableParallelism()} cores`,
    ),
    viewsRow(
      'of it, the set-up (a spare holder, its overlay mounted ahead, handed over)',
      percentile(at.setUp, 50),
      'median; no process spawned',
    ),
    viewsRow(
      'of it, the change set read from the upper layer',
      percentile(at.read, 50),
      'median; O(files the task wrote)',
    ),
    viewsRow(
      'of it, the merge (the lock, the check, the renames)',
      percentile(at.merge, 50),
      'median; no process spawned',
    ),
    viewsRow(
      `per task over the run: the first tenth against the last tenth of ${tasks} tasks`,
      late,
      `wall: median ${fmt(early, 2)} ms then ${fmt(late, 2)} ms (${fmt(late / early, 2)}x); CPU: ${fmt(earlyCpu, 2)} ms then ${fmt(lateCpu, 2)} ms (${fmt(lateCpu / earlyCpu, 2)}x; flat if at most ${FLAT}x: ${lateCpu / earlyCpu <= FLAT ? 'met' : 'missed'})`,
    ),
    viewsRow(
      'after the outcome: the holder ended, the view removed',
      percentile(at.teardown, 50),
      'median; not on the path to the next task',
    ),
    viewsRow(
      `the same task in the shared folder: the stat walk of the ${files} files`,
      percentile(walks, 50),
      `median; O(files in the project), per task; ${fmt(percentile(walks, 50) / median, 1)}x the view`,
    ),
  ];
}

/** The stat walk per task of `execution.isolation: "shared"`, on the same tree (its first read left out). */
async function statWalks(workdir: string, tasks: number): Promise<number[]> {
  const trees = new RunTrees({ maxFileBytes: 4 << 20, maxKeptBytes: 256 << 20 });
  const item = (t: number) => ({ runId: 'walk', taskId: String(t), workdir });
  await trees.enter(item(0), join(workdir, '.implement-agent'));
  trees.leave('walk', '0');
  const out: number[] = [];
  for (let t = 1; t <= tasks; t++) {
    await writeFile(join(workdir, `pkg${t}`, 'src', 'm2.ts'), `export const walked = ${t};\n`);
    const t0 = performance.now();
    trees.leave('walk', String(t));
    out.push(performance.now() - t0);
  }
  return out;
}
