import type { RunOutcome, StoredEvent, StoredEventOf } from '../events/agent-events.ts';
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
 * place, as an immutable update would copy the open tasks and the entries for every event; the
 * projection runner copies the state only for a snapshot.
 */
export const evolveTaskHistory = (state: TaskHistory, event: StoredEvent): TaskHistory => {
  state.eventsApplied++;
  const key = stateKeys.task(event.runId, event.taskId);
  switch (event.type) {
    case 'RunStarted':
      noteRunStarted(state, event);
      return state;
    case 'RunFinished':
      noteRunFinished(state, event);
      return state;
    case 'TaskSubmitted':
      state.open[key] = { title: event.data.task.title, requirements: event.data.task.requirements };
      return state;
    case 'RecoveryResolved':
      noteRecovery(state, event, state.open[key]?.title ?? '');
      return state;
    case 'TaskCompleted':
    case 'TaskFailed':
    case 'TaskSkipped':
      noteOutcome(state, event, key);
      return state;
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
    case 'TaskReopened':
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

function noteRunStarted(state: TaskHistory, event: StoredEventOf<'RunStarted'>): void {
  const note = state.projects[event.data.workdir];
  state.projects[event.data.workdir] = {
    completed: 0,
    failed: 0,
    ...note,
    runs: (note?.runs ?? 0) + 1,
    lastRunId: event.runId,
    at: event.at,
  };
  state.openRuns[event.runId] = event.data.workdir;
}

function noteRunFinished(state: TaskHistory, event: StoredEventOf<'RunFinished'>): void {
  const workdir = state.openRuns[event.runId];
  if (workdir === undefined) return;
  delete state.openRuns[event.runId];
  const note = state.projects[workdir]!;
  note.lastStatus = event.data.status;
  note.completed += event.data.completed.length;
  note.failed += event.data.failed.length;
  note.at = event.at;
}

function noteRecovery(state: TaskHistory, event: StoredEventOf<'RecoveryResolved'>, title: string): void {
  state.recoveries.push({
    runId: event.runId,
    taskId: event.taskId ?? '',
    title,
    strategyId: event.data.strategyId,
    source: event.data.source,
    at: event.at,
  });
  if (state.recoveries.length > TASK_HISTORY.recoveryLimit)
    state.recoveries.splice(0, state.recoveries.length - TASK_HISTORY.recoveryLimit);
}

function noteOutcome(
  state: TaskHistory,
  event: StoredEventOf<'TaskCompleted' | 'TaskFailed' | 'TaskSkipped'>,
  key: string,
): void {
  const open = state.open[key];
  if (!open) return;
  delete state.open[key];
  const completed = event.type === 'TaskCompleted' ? event.data : undefined;
  state.entries.push({
    runId: event.runId,
    taskId: event.taskId!,
    title: open.title,
    requirements: open.requirements,
    outcome: event.type === 'TaskCompleted' ? 'completed' : event.type === 'TaskFailed' ? 'failed' : 'skipped',
    ...(event.type !== 'TaskCompleted' ? { reason: event.data.reason } : {}),
    recoveries: completed?.recoveries ?? 0,
    durationMs: completed?.durationMs ?? 0,
    at: event.at,
  });
  if (state.entries.length > TASK_HISTORY.limit) state.entries.splice(0, state.entries.length - TASK_HISTORY.limit);
}

export const taskHistoryProjection: Projection<TaskHistory> = {
  name: TASK_HISTORY.name,
  version: TASK_HISTORY.version,
  initialState: initialTaskHistory,
  evolve: evolveTaskHistory,
};
