import { produce } from 'immer';
import type { StoredEvent } from '../events/agent-events.ts';

export type HistoryEntry = {
  runId: string;
  taskId: string;
  title: string;
  requirements: string[];
  outcome: 'completed' | 'failed' | 'skipped';
  reason?: string;
  recoveries: number;
  durationMs: number;
  at: string;
};

export type TaskHistory = {
  /** Tasks submitted and not yet finished, by `${runId}/${taskId}`. */
  open: Record<string, { title: string; requirements: string[] }>;
  /** Finished tasks, oldest first, bounded. */
  entries: HistoryEntry[];
  /** Events folded in: with the log's count, the proof that none was applied twice. */
  eventsApplied: number;
};

export const TASK_HISTORY = { name: 'task-history', version: 2, limit: 1000 } as const;

export const initialTaskHistory = (): TaskHistory => ({ open: {}, entries: [], eventsApplied: 0 });

/** What happened to each task, across runs: the memory actor's projection, read as context. */
export const evolveTaskHistory = (before: TaskHistory, event: StoredEvent): TaskHistory => {
  const state = { ...before, eventsApplied: before.eventsApplied + 1 };
  if (event.taskId === undefined) return state;
  const key = `${event.runId}/${event.taskId}`;
  switch (event.type) {
    case 'TaskSubmitted':
      return produce(state, (d) => {
        d.open[key] = { title: event.data.task.title, requirements: event.data.task.requirements };
      });
    case 'TaskCompleted':
    case 'TaskFailed':
    case 'TaskSkipped': {
      const open = state.open[key];
      if (!open) return state;
      return produce(state, (d) => {
        delete d.open[key];
        d.entries.push({
          runId: event.runId,
          taskId: event.taskId!,
          title: open.title,
          requirements: open.requirements,
          outcome: event.type === 'TaskCompleted' ? 'completed' : event.type === 'TaskFailed' ? 'failed' : 'skipped',
          ...(event.type !== 'TaskCompleted' ? { reason: event.data.reason } : {}),
          recoveries: event.type === 'TaskCompleted' ? event.data.recoveries : 0,
          durationMs: event.type === 'TaskCompleted' ? event.data.durationMs : 0,
          at: event.at,
        });
        if (d.entries.length > TASK_HISTORY.limit) d.entries.splice(0, d.entries.length - TASK_HISTORY.limit);
      });
    }
    case 'RunStarted':
    case 'PlanCacheHit':
    case 'PlanCacheMiss':
    case 'LlmCalled':
    case 'PlanCreated':
    case 'CommandStarted':
    case 'CommandHeartbeat':
    case 'CommandFinished':
    case 'CommandDenied':
    case 'RecoveryAttempted':
    case 'RecoveryResolved':
    case 'RecoveryFailed':
    case 'RunFinished':
      return state;
    default: {
      const never: never = event;
      return never;
    }
  }
};
