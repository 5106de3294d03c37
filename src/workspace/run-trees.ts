import { resolve } from 'node:path';
import { outputFiles, ownPathsIn } from '../context/own-files.ts';
import { TreeScanner } from './tree-scan.ts';
import { WorkTree, type IgnoredChange, type TreeChange, type TreeLimits } from './work-tree.ts';
import { dirtyPaths } from './git.ts';

/** What a task changed, noted when it ended. */
export type TaskCapture = { changes: TreeChange[]; ignored: IgnoredChange[]; alongside: string[] };

type Tracked = { tree: WorkTree; running: Set<string>; dirty?: Promise<Set<string>> };

/**
 * A tree looked at this recently (the previous task's end, when the next one starts right after
 * it) is not walked again: a change made in that gap counts as the starting task's, as one made
 * while it runs does. Walking it again would add a second stat of every file to each task.
 */
const FRESH_MS = 50;

/** Runs whose trees one executor process keeps at once; older idle ones are dropped (their runs are likely over). */
const KEPT_RUNS = 2;

/**
 * The working trees of the runs an executor process is executing tasks of: each read once when
 * the run's first task starts here, then refreshed as tasks start and end. A task's changes are
 * what changed between its start and its end; with tasks running at once in one folder, a change
 * goes to the first of them to end after it (named `alongside` in the record).
 */
export class RunTrees {
  private readonly runs = new Map<string, Tracked>();

  constructor(private readonly limits: TreeLimits) {}

  /** A task starts: its changes are counted from now (edits made between tasks belong to no task). */
  async enter(
    item: {
      runId: string;
      taskId: string;
      workdir: string;
      tasksFile?: string | undefined;
      ownFiles?: string[] | undefined;
      commit?: boolean | undefined;
    },
    stateDir: string,
  ): Promise<{ tree: WorkTree; dirty: Set<string> }> {
    let tracked = this.runs.get(item.runId);
    if (!tracked) {
      const excluded = new Set(
        ownPathsIn(item.workdir, [item.tasksFile, resolve(stateDir), ...outputFiles(), ...(item.ownFiles ?? [])]),
      );
      tracked = { tree: new WorkTree(new TreeScanner(item.workdir, excluded), this.limits), running: new Set() };
      this.runs.set(item.runId, tracked);
      // The oldest run with no task running here goes (a run in progress keeps its tree).
      const idle = [...this.runs].find(([id, t]) => id !== item.runId && t.running.size === 0)?.[0];
      if (this.runs.size > KEPT_RUNS && idle !== undefined) this.runs.delete(idle);
    } else if (tracked.running.size === 0 && performance.now() - tracked.tree.lookedAt > FRESH_MS) {
      tracked.tree.refresh();
    }
    tracked.running.add(item.taskId);
    // Known before the task's first command: what the user had not committed is never committed.
    if (item.commit) tracked.dirty ??= dirtyPaths(item.workdir).then((p) => new Set(p));
    return { tree: tracked.tree, dirty: (await tracked.dirty) ?? new Set() };
  }

  /** A task's changes so far (after a recovery fix), while it goes on running. */
  checkpoint(runId: string, taskId: string): TaskCapture {
    const tracked = this.runs.get(runId);
    if (!tracked) return { changes: [], ignored: [], alongside: [] };
    const { changes, ignored } = tracked.tree.refresh();
    return { changes, ignored, alongside: [...tracked.running].filter((t) => t !== taskId) };
  }

  /** A task ended: what changed since the last look, and who else was running. */
  leave(runId: string, taskId: string): TaskCapture {
    const tracked = this.runs.get(runId);
    if (!tracked) return { changes: [], ignored: [], alongside: [] };
    tracked.running.delete(taskId);
    const { changes, ignored } = tracked.tree.refresh();
    return { changes, ignored, alongside: [...tracked.running] };
  }
}
