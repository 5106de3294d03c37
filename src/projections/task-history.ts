import type { RunOutcome, StoredEvent } from '../events/agent-events.ts';
import { stateKeys } from '../events/ids.ts';
import type { Projection } from './projection.ts';

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

/** A recovery that worked: which strategy fixed which failing command of which task. */
export type LearnedRecovery = {
  runId: string;
  taskId: string;
  title: string;
  strategyId: string;
  source: string;
  at: string;
};

/** Per working directory: what the agent knows of the project it works in. */
export type ProjectNote = {
  runs: number;
  lastRunId: string;
  lastStatus?: RunOutcome;
  completed: number;
  failed: number;
  at: string;
};

export type TaskHistory = {
  /** Tasks submitted and not yet finished, by `stateKeys.task` (ids.ts). */
  open: Record<string, { title: string; requirements: string[] }>;
  /** Finished tasks, oldest first, bounded. */
  entries: HistoryEntry[];
  /** Recoveries that worked, oldest first, bounded. */
  recoveries: LearnedRecovery[];
  projects: Record<string, ProjectNote>;
  /** Runs under way: their working directory, until RunFinished. */
  openRuns: Record<string, string>;
  /** Events folded in: with the log's count, the proof that none was applied twice. */
  eventsApplied: number;
};

export const TASK_HISTORY = { name: 'task-history', version: 3, limit: 1000, recoveryLimit: 200 } as const;

export const initialTaskHistory = (): TaskHistory => ({
  open: {},
  entries: [],
  recoveries: [],
  projects: {},
  openRuns: {},
  eventsApplied: 0,
});

/**
 * What was learned, across runs: task outcomes, recoveries that worked, and per-project notes.
 * The memory actor's projection, written in batches and read back as planning context. Folded in
 * place (an immutable update copied the open tasks and the entries for every event, so a run's
 * cost grew with its size); the projection runner copies the state only for a snapshot.
 */
export const evolveTaskHistory = (state: TaskHistory, event: StoredEvent): TaskHistory => {
  state.eventsApplied++;
  const update = (change: (d: TaskHistory) => void) => {
    change(state);
    return state;
  };
  const key = stateKeys.task(event.runId, event.taskId);
  switch (event.type) {
    case 'RunStarted':
      return update((d) => {
        const note = d.projects[event.data.workdir];
        d.projects[event.data.workdir] = {
          completed: 0,
          failed: 0,
          ...note,
          runs: (note?.runs ?? 0) + 1,
          lastRunId: event.runId,
          at: event.at,
        };
        d.openRuns[event.runId] = event.data.workdir;
      });
    case 'RunFinished': {
      const workdir = state.openRuns[event.runId];
      if (workdir === undefined) return state;
      return update((d) => {
        delete d.openRuns[event.runId];
        const note = d.projects[workdir]!;
        note.lastStatus = event.data.status;
        note.completed += event.data.completed.length;
        note.failed += event.data.failed.length;
        note.at = event.at;
      });
    }
    case 'TaskSubmitted':
      return update((d) => {
        d.open[key] = { title: event.data.task.title, requirements: event.data.task.requirements };
      });
    case 'RecoveryResolved':
      return update((d) => {
        d.recoveries.push({
          runId: event.runId,
          taskId: event.taskId ?? '',
          title: state.open[key]?.title ?? '',
          strategyId: event.data.strategyId,
          source: event.data.source,
          at: event.at,
        });
        if (d.recoveries.length > TASK_HISTORY.recoveryLimit)
          d.recoveries.splice(0, d.recoveries.length - TASK_HISTORY.recoveryLimit);
      });
    case 'TaskCompleted':
    case 'TaskFailed':
    case 'TaskSkipped': {
      const open = state.open[key];
      if (!open) return state;
      return update((d) => {
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
    case 'PlanCacheHit':
    case 'PlanCacheMiss':
    case 'LlmCalled':
    case 'LlmCapabilityLearned':
    case 'PlanCreated':
    case 'PlanDrafted':
    case 'PlanCancelled':
    case 'CommandStarted':
    case 'TaskRouted':
    case 'TaskWaiting':
    case 'TaskAttemptLost':
    case 'SiteHeartbeat':
    case 'CommandHeartbeat':
    case 'CommandFinished':
    case 'CommandDenied':
    case 'RecoveryAttempted':
    case 'RecoveryFailed':
    case 'PlanInvalidated':
    case 'RunInterrupted':
    case 'RunResumed':
    case 'TaskFilesChanged':
    case 'TaskRolledBack':
    case 'TaskReverted':
    case 'TaskTicked':
    case 'RunVerified':
      return state;
    default: {
      const never: never = event;
      return never;
    }
  }
};

export const taskHistoryProjection: Projection<TaskHistory> = {
  name: TASK_HISTORY.name,
  version: TASK_HISTORY.version,
  initialState: initialTaskHistory,
  evolve: evolveTaskHistory,
};
