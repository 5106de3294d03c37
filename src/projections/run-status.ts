import type { Evidence, RunOutcome, StoredEvent } from '../events/agent-events.ts';
import type { RunOptions } from '../events/run-options.ts';
import { addUsage, noUsage, type LlmUsage } from './llm-usage.ts';
import type { Plan, PlanInput } from '../plan/plan-schema.ts';
import type { Projection } from './projection.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';
import { superseded } from './attempts.ts';

/** `unverified`: completed without evidence (a fix replaced a command, no criterion checked it): not success. */
export type TaskState = 'pending' | 'planned' | 'executing' | 'completed' | 'unverified' | 'failed' | 'skipped';

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
  /**
   * The latest revision the decomposer answered (a plan, a cancellation or a failure to plan): a
   * skipped task's planning is over once this reaches `revision`.
   */
  answered?: number;
  /** A command of it has started: from then on its own writes must not invalidate its plan. */
  started: boolean;
  /** Skipped by choice (an optional task): counts as done for its dependants. */
  skippedByChoice?: boolean;
  reason?: string;
  firstAt?: string;
  lastAt?: string;
  /** Tokens the LLM spent on it (planning, recovery). */
  usage?: LlmUsage;
  /** What showed a completed task did its work; `none`: the state is `unverified`, not ticked. */
  evidence?: Evidence;
  /** The commit holding its files (`--commit`). */
  commit?: string;
  /** The site that runs it (TaskRouted, then its CommandStarted); none on the shared queue. */
  site?: string;
  /** Its current route attempt (TaskRouted): records of an earlier one are not the task's. */
  attempt?: number;
  /** Why it waits for a site (TaskWaiting), until it is routed. */
  waiting?: string;
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
  finished?: RunOutcome;
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
export const RUN_STATUS = { key: (runId: string) => `run-status.${runId}`, version: 8 } as const;

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
    case 'PlanCancelled':
      if (task) task.answered = Math.max(task.answered ?? -1, event.data.revision);
      return;
    case 'PlanCreated':
      if (task) task.answered = Math.max(task.answered ?? -1, event.data.revision);
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
    case 'TaskRouted':
      if (!task) return;
      task.site = event.data.site;
      task.attempt = event.data.attempt;
      delete task.waiting;
      return;
    // Lost with its site: the next attempt starts from the task's base, as if nothing had run.
    case 'TaskAttemptLost':
      if (task && !isOver(task) && task.attempt === event.data.attempt) {
        task.started = false;
        if (task.state === 'executing') task.state = 'planned';
      }
      return;
    case 'TaskWaiting':
      if (task) task.waiting = event.data.reason;
      return;
    case 'CommandStarted':
      if (!task || superseded(event.data.routeAttempt, task.attempt)) return;
      task.started = true;
      if (event.data.site !== undefined) task.site = event.data.site;
      if (task.state === 'planned') task.state = 'executing';
      return;
    // The first outcome of a task is its outcome: a plan made ahead can fail after its task was
    // skipped (an earlier task failed meanwhile), and that does not make it failed.
    case 'TaskCompleted':
      if (task && !isOver(task) && !superseded(event.data.routeAttempt, task.attempt)) {
        task.evidence = event.data.evidence ?? 'commands';
        task.state = task.evidence === 'none' ? 'unverified' : 'completed';
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
      if (task && event.data.stage === 'planning') task.answered = task.revision;
      if (task && !isOver(task) && !superseded(event.data.routeAttempt, task.attempt)) {
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
    case 'PlanDrafted':
    case 'LlmCapabilityLearned':
    case 'SiteHeartbeat':
    case 'CommandHeartbeat':
    case 'CommandFinished':
    case 'CommandDenied':
    case 'RecoveryAttempted':
    case 'RecoveryResolved':
    case 'RecoveryFailed':
    case 'TaskTicked':
    case 'RunVerified':
      return;
    default: {
      const never: never = event;
      return never;
    }
  }
}

const isOver = (task: TaskStatus) =>
  task.state === 'completed' || task.state === 'unverified' || task.state === 'failed' || task.state === 'skipped';

/** A task's one outcome as the run shows it: its state, and why when it did not succeed. */
export type TaskOutcome = { state: TaskState; reason?: string };

/**
 * Each task's outcome as the run's summary, `status` and `report` show it. A task with subtasks
 * is not done when its own commands are: it is done once its subtasks are, failed when one did
 * not complete, unverified when one completed unverified, and still executing meanwhile.
 */
export function taskOutcomes(status: RunStatus): Map<string, TaskOutcome> {
  const children = new Map<string, string[]>();
  for (const id of status.order) {
    const parent = status.tasks[id]!.spec.parentId;
    if (parent !== undefined && status.tasks[parent]) children.set(parent, [...(children.get(parent) ?? []), id]);
  }
  const outcomes = new Map<string, TaskOutcome>();
  const visit = (id: string): TaskOutcome => {
    const known = outcomes.get(id);
    if (known) return known;
    const task = status.tasks[id]!;
    const own: TaskOutcome = { state: task.state, ...(task.reason ? { reason: task.reason } : {}) };
    const outcome = own.state === 'completed' ? withSubtasks(own, children.get(id) ?? [], visit, status) : own;
    outcomes.set(id, outcome);
    return outcome;
  };
  for (const id of status.order) visit(id);
  return outcomes;
}

/** A completed task's outcome with its subtasks': the first that did not complete, else the first unverified, else one not over. */
function withSubtasks(
  own: TaskOutcome,
  subtasks: readonly string[],
  visit: (id: string) => TaskOutcome,
  status: RunStatus,
): TaskOutcome {
  const of = subtasks.map((id) => ({ id, ...visit(id) }));
  const dead = of.find((c) => c.state === 'failed' || (c.state === 'skipped' && !status.tasks[c.id]!.skippedByChoice));
  if (dead) return { state: 'failed', reason: `subtask ${dead.id} did not complete` };
  const unverified = of.find((c) => c.state === 'unverified');
  if (unverified) return { state: 'unverified', reason: `subtask ${unverified.id} completed unverified` };
  const running = of.find((c) => !isOver(status.tasks[c.id]!) || c.state === 'executing');
  if (running) return { state: 'executing', reason: `its own commands are done; subtask ${running.id} is not` };
  return own;
}

/** One run's status as a per-key projection: follow `eventSubjects.run(runId)`. */
export const runStatusProjection = (runId: string): Projection<RunStatus> => ({
  name: RUN_STATUS.key(runId),
  version: RUN_STATUS.version,
  initialState: () => initialRunStatus(runId),
  evolve: evolveRunStatus,
});
