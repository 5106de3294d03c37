import { createHash } from 'node:crypto';
import type { AgentEventType } from './agent-events.ts';

/**
 * Every id of the system, built (and, where something reads one back, parsed) here and nowhere
 * else. Event ids, work-item ids and decision keys are segments joined by `:`: an event id is its
 * run, then its task and command where it has them, then its type, then what sets repeats of that
 * type apart (`:r1` a plan revision, `:g1` a generation, a time). Child command ids join with `.`
 * (`c2.fix1.1`); object-store names and projection state keys with `/`.
 *
 * Event ids are deterministic wherever the effect they record may be redone (a redelivered work
 * item, a restarted actor): the same effect appends the same id, and the store drops the copy.
 */

/**
 * The tail that sets a task's later plans apart (`:r1`, `:r2` after each PlanInvalidated) in
 * event ids, work-item ids and decision keys; empty for the first plan, so ids from before plan
 * revisions existed keep their form.
 */
const revisionSuffix = (revision: number): string => (revision > 0 ? `:r${revision}` : '');

/** A run's resume generation and a task's plan revision: the tail of work items and decisions. */
const generationSuffix = (generation: number, revision: number) => `g${generation}${revisionSuffix(revision)}`;

type RunEvent = Extract<AgentEventType, 'RunStarted'>;
type TaskEvent = Extract<AgentEventType, 'TaskSubmitted' | 'TaskTicked'>;
type CommandEvent = Extract<
  AgentEventType,
  'CommandStarted' | 'CommandFinished' | 'CommandDenied' | 'RecoveryAttempted' | 'RecoveryResolved' | 'RecoveryFailed'
>;

/** One attempt of one command of a task: what command and recovery events are about. */
export type CommandRef = { runId: string; taskId: string; commandId: string; attempt: number };

/** A site's route attempt in a record's id (`:a2`); none for attempt 0 or a task never routed. */
const attemptSuffix = (routeAttempt: number): string => (routeAttempt > 0 ? `:a${routeAttempt}` : '');

export const eventIds = {
  /** Once per run. */
  run: (runId: string, type: RunEvent) => `${runId}:${type}`,
  /** Each interruption is its own event (a run may be interrupted, resumed, interrupted again). */
  runInterrupted: (runId: string, atMs: number) => `${runId}:RunInterrupted:${atMs}`,
  runResumed: (runId: string, generation: number) => `${runId}:RunResumed:${generation}`,
  /** The coordinator stops a run whose LLM budget is spent once per generation (a resume may raise it). */
  budgetStop: (runId: string, generation: number) => `${runId}:RunInterrupted:budget:g${generation}`,
  /** The coordinator pauses a run for review once (`--pause-after`), in its first generation. */
  reviewPause: (runId: string) => `${runId}:RunInterrupted:review`,
  /** Once per task and run. */
  task: (runId: string, taskId: string, type: TaskEvent) => `${runId}:${taskId}:${type}`,
  /**
   * A task's outcome (TaskCompleted, TaskFailed or TaskSkipped), one id whichever it is: the store
   * keeps the first and drops a later one as a copy, so a task skipped while its plan was being
   * made does not also fail when that planning is cancelled. A site's later route attempt has
   * its own (`:a1`): a superseded attempt's late outcome must not take the place of the current one's.
   * So has a task's run after `resume` reopened it (`:g2`, TaskReopened's generation).
   */
  outcome: (runId: string, taskId: string, routeAttempt = 0, reopened = 0) =>
    `${runId}:${taskId}:outcome${attemptSuffix(routeAttempt)}${reopened > 0 ? `:g${reopened}` : ''}`,
  /** A task run again by `resume` of its finished run: once per generation. */
  taskReopened: (runId: string, taskId: string, generation: number) => `${runId}:${taskId}:TaskReopened:${generation}`,
  /** The run's end; a run reopened by `resume` (TaskReopened) ends again, in that generation. */
  runFinished: (runId: string, reopened = 0) => `${runId}:RunFinished${reopened > 0 ? `:g${reopened}` : ''}`,
  planCreated: (runId: string, taskId: string, revision: number) =>
    `${runId}:${taskId}:PlanCreated${revisionSuffix(revision)}`,
  planCancelled: (runId: string, taskId: string, revision: number) => `${runId}:${taskId}:PlanCancelled:${revision}`,
  /** A dry run's draft of a task's plan, once per dry run. */
  planDrafted: (runId: string, taskId: string) => `${runId}:${taskId}:PlanDrafted`,
  planInvalidated: (runId: string, taskId: string, revision: number) =>
    `${runId}:${taskId}:PlanInvalidated:${revision}`,
  /**
   * A task's n-th record of its kind (a redelivered or rerun task records its changes again). A
   * site's route attempt has its own (`:a2`): each attempt counts from 0, and a superseded
   * attempt's late record must not take the place of the current one's as a copy.
   */
  taskRecord: (
    runId: string,
    taskId: string,
    type: 'TaskFilesChanged' | 'TaskRolledBack',
    n: number,
    routeAttempt = 0,
  ) => `${runId}:${taskId}:${type}:${n}${attemptSuffix(routeAttempt)}`,
  /** A task's route to a site: once per attempt (a reroute after the schedule-to-start timeout is the next). */
  routed: (runId: string, taskId: string, generation: number, revision: number, attempt: number) =>
    `${runId}:${taskId}:TaskRouted:${generationSuffix(generation, revision)}:${attempt}`,
  /** A route attempt lost with its site: once per attempt. */
  attemptLost: (runId: string, taskId: string, generation: number, revision: number, attempt: number) =>
    `${runId}:${taskId}:TaskAttemptLost:${generationSuffix(generation, revision)}:${attempt}`,
  /** Why a task waits for a site: once per reason. */
  waiting: (runId: string, taskId: string, reason: string) => `${runId}:${taskId}:TaskWaiting:${reason}`,
  command: (ref: CommandRef, type: CommandEvent) =>
    `${ref.runId}:${ref.taskId}:${ref.commandId}:${ref.attempt}:${type}`,
};

/** Ids of the commands an executor runs besides the plan's own: fixes, decision points, checks. */
export const commandIds = {
  /** The `index`-th (from 1) command of the fix tried at recovery `attempt` of `commandId`. */
  fix: (commandId: string, attempt: number, index: number) => `${commandId}.fix${attempt}.${index}`,
  decision: (gateId: string) => `decision.${gateId}`,
  /** The `index`-th (from 1) success criterion of the plan. */
  check: (index: number) => `check${index}`,
  /** The state check of a benign verdict at recovery `attempt` of `commandId`. */
  benignCheck: (commandId: string, attempt: number) => `${commandId}.holds${attempt}`,
};

/** Where a command attempt's whole output is kept in the object store: `run/task/command/attempt`. */
export const outputName = (ref: CommandRef) => `${ref.runId}/${ref.taskId}/${ref.commandId}/${ref.attempt}`;

/** Work-item ids (the work queue's deduplication ids). */
export const workIds = {
  start: (runId: string) => `start:${runId}`,
  resume: (runId: string, generation: number) => `resume:${runId}:${generation}`,
  plan: (runId: string, taskId: string, generation: number, revision: number) =>
    `plan:${runId}:${taskId}:${generationSuffix(generation, revision)}`,
  execute: (runId: string, taskId: string, generation: number, revision: number) =>
    `exec:${runId}:${taskId}:${generationSuffix(generation, revision)}`,
  /** The same execution sent to a site: one item per route attempt. */
  executeAt: (runId: string, taskId: string, generation: number, revision: number, site: string, attempt: number) =>
    `exec:${runId}:${taskId}:${generationSuffix(generation, revision)}:${site}:${attempt}`,
};

/** The coordinator's decision keys within one run: each decision happens once. */
export const decisionKeys = {
  plan: (taskId: string, generation: number, revision: number) =>
    `plan:${taskId}:${generationSuffix(generation, revision)}`,
  execute: (taskId: string, generation: number, revision: number) =>
    `exec:${taskId}:${generationSuffix(generation, revision)}`,
  /** Once per plan revision and number of tasks finished so far. */
  revalidate: (taskId: string, generation: number, revision: number, finished: number) =>
    `revalidate:${taskId}:${generationSuffix(generation, revision)}:${finished}`,
  skip: (taskId: string) => `skip:${taskId}`,
  tick: (taskId: string) => `tick:${taskId}`,
  halt: (generation: number) => `halt:g${generation}`,
  pause: () => 'pause',
  finish: () => 'finish',
};

/**
 * Keys in projection state (stored in snapshots: their format does not change): a task of a run,
 * a command of a task of a run.
 */
export const stateKeys = {
  task: (runId: string, taskId: string | undefined) => `${runId}/${taskId ?? ''}`,
  command: (runId: string, taskId: string | undefined, commandId: string) => `${runId}/${taskId ?? ''}/${commandId}`,
  /** One recovery attempt of a command: under its command's key, so a task's keys share a prefix. */
  recovery: (runId: string, taskId: string | undefined, commandId: string, attempt: number) =>
    `${runId}/${taskId ?? ''}/${commandId}/${attempt}`,
  /** Whether a command or recovery key belongs to this task of this run. */
  inTask: (runId: string, taskId: string | undefined) => {
    const prefix = `${runId}/${taskId ?? ''}/`;
    return (key: string) => key.startsWith(prefix);
  },
};

/**
 * Recovery strategy ids (`RecoveryAttempted.strategyId`, the recovery statistics' keys, a
 * request's `tried`): `pattern/strategy` for a pattern's fix, `pattern/benign` for its verdict
 * that the work is done, `llm/<digest of the fix's commands>` for an LLM's fix (the same fix
 * has the same id, so a repeat is seen as a loop).
 */
export const strategyIds = {
  pattern: (patternId: string, strategyId: string) => `${patternId}/${strategyId}`,
  benign: (patternId: string) => strategyIds.pattern(patternId, 'benign'),
  llm: (commands: readonly string[]) =>
    `llm/${createHash('sha256').update(commands.join('\n')).digest('hex').slice(0, 12)}`,
  isLlm: (id: string) => id.startsWith('llm/'),
  /** The pattern and the strategy an id names (`llm` and a digest for an LLM's fix). */
  parse: (id: string): { patternId: string; strategyId: string } => {
    const slash = id.indexOf('/');
    return slash < 0
      ? { patternId: id, strategyId: '' }
      : { patternId: id.slice(0, slash), strategyId: id.slice(slash + 1) };
  },
};

/** Ids of the executor machine's children: a command attempt or a decision point, and back. */
export const childIds = {
  command: (commandId: string, attempt: number) => `cmd:${commandId}:${attempt}`,
  decision: (gateId: string) => `dp:${gateId}`,
  parse: (childId: string): { kind: 'command'; commandId: string } | { kind: 'decision'; gateId: string } => {
    if (childId.startsWith('dp:')) return { kind: 'decision', gateId: childId.slice('dp:'.length) };
    // The attempt is the last segment, so a command id may itself contain ':'.
    return { kind: 'command', commandId: childId.slice('cmd:'.length, childId.lastIndexOf(':')) };
  },
};
