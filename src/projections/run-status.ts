import type { Evidence, RunOptions, StoredEvent } from '../events/agent-events.ts';
import { addUsage, noUsage, type LlmUsage } from './llm-usage.ts';
import type { Plan, PlanInput } from '../plan/plan-schema.ts';
import type { Projection } from './projection.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';

export type TaskState = 'pending' | 'planned' | 'executing' | 'completed' | 'failed' | 'skipped';

export type TaskStatus = {
  spec: TaskSpec;
  state: TaskState;
  plan?: Plan;
  planEventId?: string;
  planSource?: string;
  /** Inputs of the current plan: checked before the task starts (it may have been planned ahead). */
  planInputs?: PlanInput[];
  /** How many times its plan was invalidated: the next plan's revision. */
  revision: number;
  /** A command of it has started: from then on its own writes must not invalidate its plan. */
  started: boolean;
  /** Skipped by choice (an optional task): counts as done for its dependants. */
  skippedByChoice?: boolean;
  reason?: string;
  firstAt?: string;
  lastAt?: string;
  /** Tokens the LLM spent on it (planning, recovery). */
  usage?: LlmUsage;
  /** What showed a completed task did its work; `none`: unverified, not ticked. */
  evidence?: Evidence;
  /** The commit holding its files (`--commit`). */
  commit?: string;
  /** Paths it changed, as its TaskFilesChanged events say. */
  changedFiles?: number;
  /** Its changes were undone: by the rollback of a failure, or by `revert`. */
  undone?: 'rolled-back' | 'reverted';
};

/** One run as its events tell it: what the coordinator decides from and `report` draws. */
export type RunStatus = {
  runId: string;
  tasksFile: string;
  workdir: string;
  /** How the run runs, as RunStarted says (a resume may raise its budget). */
  options: RunOptions;
  /** Tokens the LLM spent on the run, its tasks' and its own. */
  usage: LlmUsage;
  /** Stopped by the coordinator because the budget is spent: why, until a RunResumed. */
  budgetStop?: string;
  started: boolean;
  startedAt?: string;
  finished?: 'succeeded' | 'failed';
  /** Stopped by the user; set until a RunResumed. */
  interrupted: boolean;
  /** How many times the run was resumed: work items carry it, and older ones are stale. */
  generation: number;
  alreadyDone: string[];
  /** Tasks the run announced; the run is under way once each has been submitted. */
  taskIds: string[];
  /** Task ids in file order, as submitted. */
  order: string[];
  tasks: Record<string, TaskStatus>;
  lastSeq: number;
};

/** Snapshotted per run (key `run-status.<runId>`): a coordinator restart replays only the tail. */
export const RUN_STATUS = { key: (runId: string) => `run-status.${runId}`, version: 7 } as const;

export const initialRunStatus = (runId: string): RunStatus => ({
  runId,
  tasksFile: '',
  workdir: '',
  options: {
    taskConcurrency: 1,
    commandConcurrency: 1,
    continuePolicy: 'dependencies-successful',
    llm: 'offline',
    planAhead: 0,
    skipOptional: false,
  },
  usage: noUsage(),
  started: false,
  interrupted: false,
  generation: 0,
  alreadyDone: [],
  taskIds: [],
  order: [],
  tasks: {},
  lastSeq: 0,
});

/**
 * Folds one event into the run status in place and returns it. In place, as every fold that grows per task:
 * an immutable update copies the run's task table for every event, which made a run of n tasks
 * cost O(n^2); the projection runner copies the state only when it takes a snapshot.
 */
export const evolveRunStatus = (state: RunStatus, event: StoredEvent): RunStatus => {
  applyEvent(state, event);
  return state;
};

function applyEvent(draft: RunStatus, event: StoredEvent): void {
  draft.lastSeq = Math.max(draft.lastSeq, event.seq);
  const task = event.taskId !== undefined ? draft.tasks[event.taskId] : undefined;
  // A revert, long after, is not part of the task's time.
  if (task && event.type !== 'TaskReverted') {
    task.firstAt ??= event.at;
    task.lastAt = event.at;
  }
  switch (event.type) {
    case 'RunStarted':
      draft.started = true;
      draft.startedAt = event.at;
      draft.tasksFile = event.data.tasksFile;
      draft.workdir = event.data.workdir;
      draft.options = event.data.options;
      draft.alreadyDone = event.data.alreadyDone;
      draft.taskIds = event.data.taskIds;
      return;
    case 'TaskSubmitted':
      if (!draft.tasks[event.data.task.id]) draft.order.push(event.data.task.id);
      draft.tasks[event.data.task.id] = {
        spec: event.data.task,
        state: 'pending',
        revision: 0,
        started: false,
        firstAt: event.at,
        lastAt: event.at,
      };
      return;
    case 'PlanCreated':
      if (task && task.state === 'pending' && event.data.revision === task.revision) {
        task.state = 'planned';
        task.plan = event.data.plan;
        task.planEventId = event.id;
        task.planSource = event.data.source;
        task.planInputs = event.data.inputs;
      }
      return;
    case 'PlanInvalidated':
      if (task && task.state === 'planned' && !task.started) {
        task.state = 'pending';
        task.revision = event.data.revision;
        delete task.plan;
        delete task.planEventId;
        delete task.planInputs;
      }
      return;
    case 'CommandStarted':
      if (task) task.started = true;
      if (task && task.state === 'planned') task.state = 'executing';
      return;
    // The first outcome of a task is its outcome: a plan made ahead can fail after its task was
    // skipped (an earlier task failed meanwhile), and that does not make it failed.
    case 'TaskCompleted':
      if (task && !isOver(task)) {
        task.state = 'completed';
        task.evidence = event.data.evidence ?? 'commands';
        if (event.data.commit) task.commit = event.data.commit;
      }
      return;
    case 'TaskFilesChanged':
      if (!task) return;
      // Recorded after its view was discarded (a conflict's retry): the task's changes start again.
      if (task.undone === 'rolled-back') {
        delete task.undone;
        task.changedFiles = 0;
      }
      task.changedFiles = (task.changedFiles ?? 0) + event.data.files.length;
      return;
    case 'TaskRolledBack':
      if (task) task.undone = 'rolled-back';
      return;
    case 'TaskReverted':
      if (task) task.undone = 'reverted';
      return;
    case 'TaskFailed':
      if (task && !isOver(task)) {
        task.state = 'failed';
        task.reason = event.data.reason;
      }
      return;
    case 'TaskSkipped':
      if (task && !isOver(task)) {
        task.state = 'skipped';
        task.reason = event.data.reason;
        task.skippedByChoice = event.data.optional;
      }
      return;
    case 'RunFinished':
      draft.finished = event.data.status;
      return;
    case 'RunInterrupted':
      draft.interrupted = true;
      if (event.data.budget) draft.budgetStop = event.data.reason;
      return;
    case 'RunResumed':
      draft.interrupted = false;
      delete draft.budgetStop;
      if (event.data.budget) draft.options.budget = event.data.budget;
      draft.generation = Math.max(draft.generation, event.data.generation);
      // An execution cut short by the interruption starts again (from what its log records).
      for (const t of Object.values(draft.tasks)) if (t.state === 'executing') t.state = 'planned';
      return;
    case 'LlmCalled':
      addUsage(draft.usage, event.data);
      if (task) addUsage((task.usage ??= noUsage()), event.data);
      return;
    case 'PlanCacheHit':
    case 'PlanCacheMiss':
    case 'LlmCapabilityLearned':
    case 'CommandHeartbeat':
    case 'CommandFinished':
    case 'CommandDenied':
    case 'RecoveryAttempted':
    case 'RecoveryResolved':
    case 'RecoveryFailed':
    case 'RunVerified':
      return;
    default: {
      const never: never = event;
      return never;
    }
  }
}

const isOver = (task: TaskStatus) => task.state === 'completed' || task.state === 'failed' || task.state === 'skipped';

/** One run's status as a per-key projection: follow `eventSubjects.run(runId)`. */
export const runStatusProjection = (runId: string): Projection<RunStatus> => ({
  name: RUN_STATUS.key(runId),
  version: RUN_STATUS.version,
  initialState: () => initialRunStatus(runId),
  evolve: evolveRunStatus,
});
