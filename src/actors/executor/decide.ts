import { routeAttemptOfItem } from '../../events/site-events.ts';
import { resolve } from 'node:path';
import { makeEvent, type AgentEvent, type StoredEvent } from '../../events/agent-events.ts';
import { eventIds } from '../../events/ids.ts';
import type { ExecuteTask } from '../../events/work-commands.ts';
import { attemptView } from '../../projections/attempts.ts';

/** What the log records of a run's start, as far as the executor checks work against it. */
export type RecordedRun = {
  workdir: string;
  taskIds: ReadonlySet<string>;
  /** Why its working directory is never one to run in (`forbiddenWorkdir`), if it is not. */
  forbidden: string | undefined;
  /** The snapshot of its project in the content store, which a site unpacks (absent: no site was up at its start). */
  snapshot?: string | undefined;
  /** The sequence of its RunStarted: where a site follows its events from. */
  startSeq?: number;
};

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
  item: Pick<ExecuteTask, 'runId' | 'taskId' | 'route' | 'reopened'>,
  run: RecordedRun | undefined,
  recorded: readonly StoredEvent[],
  why: string,
): AgentEvent[] {
  if (!run?.taskIds.has(item.taskId) || attemptView(recorded).outcome) return [];
  const { runId, taskId } = item;
  return [
    makeEvent(
      'TaskFailed',
      { runId, taskId, id: eventIds.outcome(runId, taskId, item.route?.attempt, item.reopened) },
      {
        stage: 'policy',
        reason: `its execute work item was refused: ${why}`,
        ...routeAttemptOfItem(item),
      },
    ),
  ];
}
