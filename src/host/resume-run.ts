import { InputError } from '../errors.ts';
import type { StoredEvent } from '../events/agent-events.ts';
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
