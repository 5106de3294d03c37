import type { AgentEventType, Evidence, RunOutcome, StoredEvent, StoredEventOf } from '../events/agent-events.ts';
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
  /** The generation of the `resume` that ran it again (TaskReopened): its outcome's id carries it. */
  reopened?: number;
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
  /** The generation of the last `resume` that reopened a task of the finished run: its new RunFinished's id carries it. */
  reopened?: number;
  alreadyDone: string[];
  /** Tasks the run announced; the run is under way once each has been submitted. */
  taskIds: string[];
  /** Task ids in file order, as submitted. */
  order: string[];
  tasks: Record<string, TaskStatus>;
  lastSeq: number;
};

/** Snapshotted per run (key `run-status.<runId>`): a coordinator restart replays only the tail. */
export const RUN_STATUS = { key: (runId: string) => `run-status.${runId}`, version: 9 } as const;

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
 * Folds one event into the run status in place and returns it. In place, as every fold that grows
 * per task: an immutable update would copy the run's task table for every event; the projection
 * runner copies the state only when it takes a snapshot.
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
  (FOLD[event.type] as Fold<StoredEvent>)(draft, event, task);
}

type Fold<E> = (run: RunStatus, event: E, task: TaskStatus | undefined) => void;
const ignore = () => {};

/** What each event type changes: one entry per type, so none is forgotten. */
const FOLD: { [T in AgentEventType]: Fold<StoredEventOf<T>> } = {
  RunStarted: (run, e) => {
    run.started = true;
    run.startedAt = e.at;
    run.tasksFile = e.data.tasksFile;
    run.workdir = e.data.workdir;
    run.options = e.data.options;
    run.alreadyDone = e.data.alreadyDone;
    run.taskIds = e.data.taskIds;
  },
  TaskSubmitted: (run, e) => {
    const spec = e.data.task;
    if (!run.tasks[spec.id]) run.order.push(spec.id);
    run.tasks[spec.id] = { spec, state: 'pending', revision: 0, started: false, firstAt: e.at, lastAt: e.at };
  },
  PlanCancelled: (_run, e, task) => {
    if (task) task.answered = Math.max(task.answered ?? -1, e.data.revision);
  },
  PlanCreated: (_run, e, task) => {
    if (!task) return;
    task.answered = Math.max(task.answered ?? -1, e.data.revision);
    if (task.state !== 'pending' || e.data.revision !== task.revision) return;
    task.state = 'planned';
    task.plan = e.data.plan;
    task.planEventId = e.id;
    task.planSource = e.data.source;
    task.planInputs = e.data.inputs;
  },
  PlanInvalidated: (_run, e, task) => {
    if (!task || task.state !== 'planned' || task.started) return;
    task.state = 'pending';
    task.revision = e.data.revision;
    delete task.plan;
    delete task.planEventId;
    delete task.planInputs;
  },
  TaskRouted: (_run, e, task) => {
    if (!task) return;
    task.site = e.data.site;
    task.attempt = e.data.attempt;
    delete task.waiting;
  },
  // Lost with its site: the next attempt starts from the task's base, as if nothing had run.
  TaskAttemptLost: (_run, e, task) => {
    if (!task || isOver(task) || task.attempt !== e.data.attempt) return;
    task.started = false;
    if (task.state === 'executing') task.state = 'planned';
  },
  TaskWaiting: (_run, e, task) => {
    if (task) task.waiting = e.data.reason;
  },
  CommandStarted: (_run, e, task) => {
    if (!task || superseded(e.data.routeAttempt, task.attempt)) return;
    task.started = true;
    if (e.data.site !== undefined) task.site = e.data.site;
    if (task.state === 'planned') task.state = 'executing';
  },
  // The first outcome of a task is its outcome: a plan made ahead can fail after its task was
  // skipped (an earlier task failed meanwhile), and that does not make it failed.
  TaskCompleted: (_run, e, task) => {
    if (!task || isOver(task) || superseded(e.data.routeAttempt, task.attempt)) return;
    task.evidence = e.data.evidence ?? 'commands';
    task.state = task.evidence === 'none' ? 'unverified' : 'completed';
    if (e.data.commit) task.commit = e.data.commit;
  },
  TaskFilesChanged: (_run, e, task) => {
    if (!task) return;
    // Recorded after its view was discarded (a conflict's retry): the task's changes start again.
    if (task.undone === 'rolled-back') {
      delete task.undone;
      task.changedFiles = 0;
    }
    task.changedFiles = (task.changedFiles ?? 0) + e.data.files.length;
  },
  TaskRolledBack: (_run, _e, task) => {
    if (task) task.undone = 'rolled-back';
  },
  TaskReverted: (_run, _e, task) => {
    if (task) task.undone = 'reverted';
  },
  TaskFailed: (_run, e, task) => {
    if (!task) return;
    if (e.data.stage === 'planning') task.answered = task.revision;
    if (isOver(task) || superseded(e.data.routeAttempt, task.attempt)) return;
    task.state = 'failed';
    task.reason = e.data.reason;
  },
  TaskSkipped: (_run, e, task) => {
    if (!task || isOver(task)) return;
    task.state = 'skipped';
    task.reason = e.data.reason;
    task.skippedByChoice = e.data.optional;
  },
  // Reopened by `resume` (its TaskReopened events come first): the run goes on, and ends again.
  TaskReopened: (run, e, task) => {
    if (!task) return;
    run.reopened = Math.max(run.reopened ?? 0, e.data.generation);
    delete run.finished;
    task.reopened = e.data.generation;
    task.state = task.plan ? 'planned' : 'pending';
    task.started = false;
    delete task.reason;
    delete task.evidence;
    delete task.commit;
  },
  RunFinished: (run, e) => {
    run.finished = e.data.status;
  },
  RunInterrupted: (run, e) => {
    run.interrupted = true;
    if (e.data.budget) run.budgetStop = e.data.reason;
  },
  RunResumed: (run, e) => {
    run.interrupted = false;
    delete run.budgetStop;
    if (e.data.budget) run.options.budget = e.data.budget;
    run.generation = Math.max(run.generation, e.data.generation);
    // An execution cut short by the interruption starts again (from what its log records).
    for (const t of Object.values(run.tasks)) if (t.state === 'executing') t.state = 'planned';
  },
  LlmCalled: (run, e, task) => {
    addUsage(run.usage, e.data);
    if (task) addUsage((task.usage ??= noUsage()), e.data);
  },
  PlanCacheHit: ignore,
  PlanCacheMiss: ignore,
  PlanDrafted: ignore,
  LlmCapabilityLearned: ignore,
  SiteHeartbeat: ignore,
  CommandHeartbeat: ignore,
  CommandFinished: ignore,
  CommandDenied: ignore,
  RecoveryAttempted: ignore,
  RecoveryResolved: ignore,
  RecoveryFailed: ignore,
  TaskTicked: ignore,
  RunVerified: ignore,
};

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
