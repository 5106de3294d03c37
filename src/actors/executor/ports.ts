import type { AgentEvent, EventOf, StoredEvent } from '../../events/agent-events.ts';
import type { ExecuteTask, RecoverReply } from '../../events/work-commands.ts';
import type { DecisionPoint } from '../../plan/plan-schema.ts';
import type { SuccessCriterion } from '../../tasklist/success-criterion.ts';
import type { ActorIO, Runtime } from '../actor.ts';
import type { RecordedRun } from './decide.ts';
import type { ResumePoint } from './state.ts';
import type {
  CommandOutcome,
  ConfirmInput,
  FixInput,
  RecoverInput,
  RecoveryRecord,
  RunCommandInput,
  TaskEnd,
} from './types.ts';

/**
 * The activities the executor's machine invokes, as Temporal's workflow does: each does the I/O
 * (a command under the policy and sandbox, a criterion's check, a question to the recoverer) and
 * the host records its result as events before the machine goes on (src/host/executor-activities.ts).
 */
export type TaskActivities = {
  runCommand(input: RunCommandInput): Promise<CommandOutcome>;
  runFix(input: FixInput): Promise<CommandOutcome>;
  confirmBenign(input: ConfirmInput): Promise<CommandOutcome>;
  evaluateDecision(dp: DecisionPoint): Promise<boolean>;
  verify(criteria: SuccessCriterion[]): Promise<{ ok: true } | { ok: false; reason: string }>;
  recover(input: RecoverInput): Promise<RecoverReply>;
  /** Recorded in the background: the machine does not wait for it. */
  recordRecovery(record: RecoveryRecord): void;
};

/** How a task's execution ended, before its outcome is recorded. */
export type Ended = {
  result: TaskEnd;
  commit?: string | undefined;
  /** What waits until the outcome is recorded (the view's removal): dependants start sooner. */
  after?: () => Promise<void>;
};

/** Where an item runs (`item`, its paths in the site's copy at a site), or the event that says why it cannot run here. */
export type Placed = { item: ExecuteTask } | { refused: AgentEvent };

/**
 * What the executor asks of its host (src/host/executor-ports.ts): `R` is what a process keeps
 * between tasks (the sandbox's confinement, the runs' working trees), opaque to the actor.
 */
export type ExecutorPorts<R> = {
  open(rt: Runtime): Promise<R>;
  close(resources: R): Promise<void>;
  /** This machine's name: a dead executor's process groups on it are ended before a resume. */
  hostName(): string;
  /** The run as its RunStarted records it (read once per run): what an item is checked against. */
  recordedRun(resources: R, runId: string): Promise<RecordedRun | undefined>;
  /** What the log holds of this task's execution so far. */
  executionSoFar(rt: Runtime, runId: string, taskId: string): Promise<StoredEvent[]>;
  /** The task's last route (TaskRouted) and last loss (TaskAttemptLost) as the log holds them now: one request each. */
  lastRoute(rt: Runtime, runId: string, taskId: string): Promise<{ route?: StoredEvent; loss?: StoredEvent }>;
  killOrphans(pgids: readonly number[]): void;
  /** Where the item runs: as it is, or at a site in the site's copy of its run's project, brought up to date (or why not). */
  place(resources: R, item: ExecuteTask, run: RecordedRun): Promise<Placed>;
  /**
   * Runs the task's machine (run-task.ts) on the host's activities, in a view of its own or in
   * the folder as `execution.isolation` says, recording what it changed, undoing or merging it.
   */
  execute(
    io: ActorIO<R>,
    item: ExecuteTask,
    recorded: StoredEvent[],
    resume: ResumePoint | undefined,
    /** A site's attempt after one lost with its site: it starts from its base in a fresh view. */
    startOver: boolean,
  ): Promise<Ended>;
  /** Records the task's outcome, then runs what waited for it; answers the outcome as stored. */
  finish(io: ActorIO<R>, outcome: EventOf<'TaskCompleted'> | EventOf<'TaskFailed'>, ended: Ended): Promise<StoredEvent>;
};
