import { loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import type { ContentStore } from '../events/bus.ts';
import type { FileChange } from '../events/agent-events.ts';
import { changesByTask, runChanges } from '../workspace/run-changes.ts';
import { storedContent } from '../workspace/stored-content.ts';
import { lineCounts, renderChange, renderStat } from '../workspace/render-diff.ts';
import { withRuntime } from './nats-session.ts';
import { recordedRun } from './recorded-run.ts';
import { colours } from './progress.ts';
import { out, outJson } from './terminal.ts';

/** `implement-agent diff <runId> [task] [--stat] [--json]`: what a run (or one task) changed, from the stored contents. */
export async function diffCommand(
  runId: string,
  taskId: string | undefined,
  flags: { stat: boolean; json: boolean },
): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  return withRuntime(config, cwd, 'diff', async (rt) => {
    const events = await recordedRun(rt, runId);
    const tasks = changesByTask(events);
    let changes: FileChange[];
    const notes: string[] = [];
    if (taskId !== undefined) {
      if (!events.some((e) => e.taskId === taskId)) throw new InputError(`run ${runId} has no task ${taskId}`);
      const task = tasks.find((t) => t.taskId === taskId);
      changes = task?.files ?? [];
      if (task?.undone)
        notes.push(
          `task ${taskId}'s changes were ${task.undone === 'reverted' ? 'reverted' : 'rolled back when it failed'}: the tree no longer holds them`,
        );
      for (const i of task?.ignored ?? [])
        notes.push(`${i.path}: changed (${i.entries} entries), ignored by the project, not stored`);
    } else {
      changes = runChanges(tasks);
      for (const t of tasks)
        if (t.undone)
          notes.push(
            `task ${t.taskId} left out: its changes were ${t.undone === 'reverted' ? 'reverted' : 'rolled back'}`,
          );
    }
    const shown = await Promise.all(changes.map(async (c) => ({ change: c, ...(await contentsOf(rt.contents, c)) })));
    if (flags.json) {
      const rows = shown.map(({ change, before, after }) => ({ ...change, ...lineCounts(before, after) }));
      outJson({ runId, ...(taskId !== undefined ? { taskId } : {}), files: rows, notes });
      return 0;
    }
    const lines = flags.stat
      ? renderStat(
          shown.map(({ change, before, after }) => ({ path: change.path, ...lineCounts(before, after) })),
          colours,
        )
      : shown.flatMap(({ change, before, after }) => renderChange(change, before, after, colours));
    if (changes.length === 0)
      lines.push(taskId !== undefined ? `task ${taskId} changed no file` : `run ${runId} changed no file`);
    for (const n of notes) lines.push(colours.dim(n));
    out(lines.join('\n'));
    return 0;
  });
}

async function contentsOf(
  store: ContentStore,
  change: FileChange,
): Promise<{ before?: Uint8Array; after?: Uint8Array }> {
  if (!change.stored) return {};
  const [before, after] = await Promise.all([
    change.before ? storedContent(store, change.before, change.path) : undefined,
    change.after ? storedContent(store, change.after, change.path) : undefined,
  ]);
  return { ...(before ? { before } : {}), ...(after ? { after } : {}) };
}
