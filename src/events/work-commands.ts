import * as z from 'zod';
import { PlanSchema } from '../plan/plan-schema.ts';
import { TaskSpecSchema } from '../tasklist/task-spec.ts';
import { ProjectRefSchema, WeakeningSchema } from './agent-events.ts';
import { LlmModeSchema, RunOptionsSchema, upcastConcurrency } from './run-options.ts';
import { FailureSchema } from './failure.ts';

/** Messages between actors (work items and requests), as opposed to the events they record. */

export { RunOptionsSchema, type RunOptions } from './run-options.ts';

export const StartRunSchema = z.object({
  runId: z.string(),
  tasksFile: z.string(),
  workdir: z.string(),
  tasks: z.array(TaskSpecSchema),
  options: RunOptionsSchema,
  /** When the tasks are too many for one message: their JSON's sha256 in the content store (`tasks` is then empty). */
  tasksContent: z.string().optional(),
  /** The settings weakening confinement, as the CLI that started the run found them: recorded in RunStarted. */
  weakened: z.array(WeakeningSchema).optional(),
  /** The git base of the working directory, recorded in RunStarted (sites materialise it; docs/scaling.md). */
  project: ProjectRefSchema.optional(),
});
export type StartRun = z.infer<typeof StartRunSchema>;

export const PlanTaskSchema = z.object({
  runId: z.string(),
  workdir: z.string(),
  /** requirements.md and design.md are read from beside it. */
  tasksFile: z.string(),
  task: TaskSpecSchema,
  /** A heading with subtasks and no commands: its own plan is empty. */
  group: z.boolean(),
  /** The run's resume generation when issued: items from before a resume are stale. */
  generation: z.number().int().nonnegative().default(0),
  /** 0 for a first plan; n after the n-th PlanInvalidated of the task. */
  revision: z.number().int().nonnegative().default(0),
  /** When the run started: files changed since are shown to the planner. */
  runStartedAt: z.string().optional(),
  llm: LlmModeSchema,
  /** The run's `ownFiles`: never shown to the planner. */
  ownFiles: z.array(z.string()).optional(),
  /** Named by `--replan`: the plan cache is not consulted. */
  replan: z.boolean().optional(),
  /** Reopened by `resume` in this generation (TaskReopened): a planning failure's id carries it. */
  reopened: z.number().int().positive().optional(),
});
export type PlanTask = z.infer<typeof PlanTaskSchema>;

export const ExecuteTaskSchema = z.preprocess(
  upcastConcurrency,
  z.object({
    runId: z.string(),
    taskId: z.string(),
    workdir: z.string(),
    plan: PlanSchema,
    /** The PlanCreated event id this execution follows. */
    planEventId: z.string(),
    llm: LlmModeSchema,
    /** Commands of this task that may run at once (the run's --command-concurrency). */
    commandConcurrency: z.number().int().positive(),
    generation: z.number().int().nonnegative().default(0),
    /** The task list: the tool's own ticks in it are not a task's change. */
    tasksFile: z.string().optional(),
    /** The run's `ownFiles`: the tool's writes, not a task's change. */
    ownFiles: z.array(z.string()).optional(),
    /** Commit the task's files once it completes. */
    commit: z.boolean().optional(),
    /** The task as written: a commit's message is made from it. */
    title: z.string().optional(),
    description: z.array(z.string()).optional(),
    requirements: z.array(z.string()).optional(),
    /** Sent to a site's own queue: which site and route attempt (TaskRouted); a superseded one is left. */
    route: z.object({ site: z.string(), attempt: z.number().int().nonnegative() }).optional(),
    /** Reopened by `resume` in this generation (TaskReopened): its outcome's id carries it. */
    reopened: z.number().int().positive().optional(),
  }),
);
export type ExecuteTask = z.infer<typeof ExecuteTaskSchema>;

export const RecoverRequestSchema = z.object({
  runId: z.string(),
  taskId: z.string(),
  workdir: z.string(),
  commandId: z.string(),
  ...FailureSchema.shape,
  /** Recovery attempts already made for this command, oldest first. */
  attempt: z.number().int().nonnegative(),
  tried: z.array(z.object({ strategyId: z.string(), fingerprint: z.string() })),
  llm: LlmModeSchema,
  /** The executor keeps the run's file contents: it can store a file's before content ahead of a fix that replaces it. */
  keepsContents: z.boolean().optional(),
  /** Where the executor sees the task's view of `workdir` (`/proc/<holder>/root<workdir>`): probes look there when it is on this machine. */
  view: z.string().optional(),
});
export type RecoverRequest = z.infer<typeof RecoverRequestSchema>;

export const RecoverReplySchema = z.discriminatedUnion('decision', [
  z.object({
    decision: z.literal('fix'),
    patternId: z.string().optional(),
    strategyId: z.string(),
    source: z.enum(['pattern', 'learned', 'llm']),
    commands: z.array(z.string()),
    retry: z.boolean(),
    diagnosis: z.string().optional(),
    /** Files from before the run the fix replaces: their contents are stored first, or the fix is not run. */
    keep: z.array(z.string()).optional(),
  }),
  /** The failure means the work is done if `holds`, a check command run in the task's folder, exits 0. */
  z.object({ decision: z.literal('benign'), patternId: z.string(), strategyId: z.string(), holds: z.string() }),
  z.object({ decision: z.literal('give-up'), reason: z.string() }),
]);
export type RecoverReply = z.infer<typeof RecoverReplySchema>;
