import { resolve } from 'node:path';
import { isTaskTerminal, makeEvent, type AgentEvent, type StoredEvent } from '../../events/agent-events.ts';
import type { EventLog } from '../../events/event-log.ts';
import { eventIds } from '../../events/ids.ts';
import { eventSubjects } from '../../events/subjects.ts';
import type { ExecuteTask } from '../../events/work-commands.ts';
import { workdirRefusal } from '../../workspace/workdir-guard.ts';

/** What the log records of a run's start, as far as the executor checks work against it. */
export type RecordedRun = {
  workdir: string;
  taskIds: ReadonlySet<string>;
  /** Why its working directory is never one to run in (`forbiddenWorkdir`), if it is not. */
  forbidden: string | undefined;
  /** The snapshot of its project in the content store, which a site unpacks (absent: no site was up at its start). */
  snapshot?: string | undefined;
};

/**
 * The runs this executor has taken work for, each read from the log once (a run of 1,600 tasks
 * costs one read, not 1,600). A run not found is read again next time: it costs an attacker's
 * items a read each, and keeps nothing of them.
 */
export class RecordedRuns {
  private readonly known = new Map<string, Promise<RecordedRun | undefined>>();

  constructor(private readonly store: EventLog) {}

  get(runId: string): Promise<RecordedRun | undefined> {
    let run = this.known.get(runId);
    if (!run) {
      run = this.read(runId);
      this.known.set(runId, run);
      void run.then(
        (r) => r ?? this.known.delete(runId),
        () => this.known.delete(runId),
      );
    }
    return run;
  }

  private async read(runId: string): Promise<RecordedRun | undefined> {
    const started = await this.store.lastEvent(eventSubjects.of(runId, undefined, 'RunStarted'));
    if (started?.type !== 'RunStarted') return undefined;
    const { workdir, taskIds, project } = started.data;
    return {
      workdir,
      taskIds: new Set(taskIds),
      forbidden: await workdirRefusal(workdir),
      snapshot: project?.snapshot,
    };
  }
}

/**
 * Why an execute item must not run, if it must not: its run is not in the log, it names another
 * working directory than the run's, its task is not one of the run's, or the run's folder is one
 * no command may write (the root, a home, a system folder).
 */
export function refusal(item: Pick<ExecuteTask, 'runId' | 'taskId' | 'workdir'>, run: RecordedRun | undefined) {
  if (!run) return `run ${item.runId} is not recorded in the log (no RunStarted)`;
  if (resolve(item.workdir) !== resolve(run.workdir))
    return `it names the working directory ${item.workdir}, not the run's (${run.workdir})`;
  if (!run.taskIds.has(item.taskId)) return `task ${item.taskId} is not a task of run ${item.runId}`;
  return run.forbidden;
}

/**
 * What a refused item of a task of a recorded run leaves in the log: the task failed, saying why,
 * so the coordinator goes on (or ends the run) instead of waiting for an outcome that never comes.
 * Nothing for an unknown run, or a task that has its outcome.
 */
export function refusedOutcome(
  item: Pick<ExecuteTask, 'runId' | 'taskId'>,
  run: RecordedRun | undefined,
  recorded: readonly StoredEvent[],
  why: string,
): AgentEvent[] {
  if (!run?.taskIds.has(item.taskId) || recorded.some(isTaskTerminal)) return [];
  const { runId, taskId } = item;
  return [
    makeEvent(
      'TaskFailed',
      { runId, taskId, id: eventIds.outcome(runId, taskId) },
      { stage: 'policy', reason: `its execute work item was refused: ${why}` },
    ),
  ];
}
