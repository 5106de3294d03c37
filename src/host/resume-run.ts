import { InputError } from '../errors.ts';
import type { StoredEvent } from '../events/agent-events.ts';
import { attemptView } from '../projections/attempts.ts';
import type { StartRun } from '../events/work-commands.ts';
import { blockersIn, taskGraph } from '../tasklist/task-graph.ts';
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

/** What `resume` runs again of a finished run, and why. */
export type Reopening = { taskId: string; reason: string };

/**
 * The tasks of a finished run that `resume` runs again, with why: those whose outcome is a failure
 * at the merge (a full disk, a rename refused) or a conflict. Nothing of them was applied and
 * their views are gone, so each runs again from its first command on the folder as it is now:
 * its change set cannot be merged from the log, which holds ignored folders by count and large
 * files by hash only, and not the outcome its commands had. With them, the tasks skipped because
 * of them (a dependency, or under continue policy `never` any failure): else the run would end
 * failed again with the reopened task done and its dependants never run.
 */
export function reopenable(events: readonly StoredEvent[], start?: Pick<StartRun, 'tasks' | 'options'>): Reopening[] {
  const outcomes = outcomesByTask(events);
  const reopened: Reopening[] = [];
  for (const [taskId, outcome] of outcomes) {
    if (outcome?.type !== 'TaskFailed' || !UNAPPLIED.has(outcome.data.stage)) continue;
    const why =
      outcome.data.stage === 'merge' ? 'its change set could not be applied' : 'its change set met a conflict';
    reopened.push({ taskId, reason: `${why}: ${outcome.data.reason}` });
  }
  return reopened.length > 0 && start ? [...reopened, ...skippedFor(reopened, outcomes, start)] : reopened;
}

function outcomesByTask(events: readonly StoredEvent[]): Map<string, StoredEvent | undefined> {
  const byTask = new Map<string, StoredEvent[]>();
  for (const e of events) {
    if (e.taskId === undefined) continue;
    const list = byTask.get(e.taskId) ?? [];
    list.push(e);
    byTask.set(e.taskId, list);
  }
  return new Map([...byTask].map(([taskId, taskEvents]) => [taskId, attemptView(taskEvents).outcome]));
}

/** Skipped tasks (not by choice) that wait on a reopened one, directly or through another skipped one. */
function skippedFor(
  reopened: readonly Reopening[],
  outcomes: ReadonlyMap<string, StoredEvent | undefined>,
  start: Pick<StartRun, 'tasks' | 'options'>,
): Reopening[] {
  const skipped = (id: string) => {
    const o = outcomes.get(id);
    return o?.type === 'TaskSkipped' && !o.data.optional;
  };
  const open = new Set(reopened.map((r) => r.taskId));
  const graph = taskGraph(start.tasks);
  const found: Reopening[] = [];
  const everyFailure = start.options.continuePolicy === 'never';
  // Dependencies may point forward in the list: until nothing more is found.
  for (let grew = true; grew; ) {
    grew = false;
    for (const task of start.tasks) {
      if (open.has(task.id) || !skipped(task.id)) continue;
      const on = everyFailure ? reopened[0]!.taskId : blockersIn(graph, task).find((b) => open.has(b.id))?.id;
      if (on === undefined) continue;
      open.add(task.id);
      found.push({ taskId: task.id, reason: `it was skipped because of task ${on}, which runs again` });
      grew = true;
    }
  }
  return found;
}
