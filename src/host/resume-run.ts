import { InputError } from '../errors.ts';
import type { StoredEvent } from '../events/agent-events.ts';
import { attemptView } from '../projections/attempts.ts';
import type { StartRun } from '../events/work-commands.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';

/**
 * The StartRun of a recorded run, rebuilt from its RunStarted and TaskSubmitted events: all a
 * coordinator needs to pick the run up where its log ends.
 */
export function startFromLog(runId: string, events: readonly StoredEvent[]): StartRun {
  const started = events.find((e) => e.type === 'RunStarted');
  if (started?.type !== 'RunStarted') throw new InputError(`run ${runId} is not in this log (no RunStarted event)`);
  const tasks: TaskSpec[] = events.flatMap((e) => (e.type === 'TaskSubmitted' ? [e.data.task] : []));
  return {
    runId,
    tasksFile: started.data.tasksFile,
    workdir: started.data.workdir,
    tasks,
    options: started.data.options,
    ...(started.data.weakened ? { weakened: started.data.weakened } : {}),
    ...(started.data.project ? { project: started.data.project } : {}),
  };
}

/** Failure stages after which nothing of the task reached the folder: its change set was never applied. */
const UNAPPLIED = new Set(['merge', 'conflict']);

/**
 * The tasks of a finished run that `resume` runs again, with why: those whose outcome is a failure
 * at the merge (a full disk, a rename refused) or a conflict. Nothing of them was applied and
 * their views are gone, so each runs again from its first command on the folder as it is now:
 * its change set cannot be merged from the log, which holds ignored folders by count and large
 * files by hash only, and not the outcome its commands had.
 */
export function reopenable(events: readonly StoredEvent[]): { taskId: string; reason: string }[] {
  const byTask = new Map<string, StoredEvent[]>();
  for (const e of events) {
    if (e.taskId === undefined) continue;
    const list = byTask.get(e.taskId) ?? [];
    list.push(e);
    byTask.set(e.taskId, list);
  }
  return [...byTask].flatMap(([taskId, taskEvents]) => {
    const { outcome } = attemptView(taskEvents);
    if (outcome?.type !== 'TaskFailed' || !UNAPPLIED.has(outcome.data.stage)) return [];
    const why =
      outcome.data.stage === 'merge' ? 'its change set could not be applied' : 'its change set met a conflict';
    return [{ taskId, reason: `${why}: ${outcome.data.reason}` }];
  });
}
