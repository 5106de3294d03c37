import * as z from 'zod';
import { RunBudgetSchema, RunOptionsSchema } from './run-options.ts';
import { defineEvent } from './event-envelope.ts';

/** The events of a run as a whole: started, verified, interrupted, resumed, finished. */

const RUN_FIELDS = new Set(['tasksFile', 'workdir', 'taskIds', 'alreadyDone', 'options', 'weakened']);

/** RunStarted was written with its options flat beside the run's fields before they were nested: read as `options`. */
export const upcastRunStarted = (data: unknown): unknown => {
  if (typeof data !== 'object' || data === null || 'options' in data) return data;
  const entries = Object.entries(data as Record<string, unknown>);
  return {
    ...Object.fromEntries(entries.filter(([k]) => RUN_FIELDS.has(k))),
    options: Object.fromEntries(entries.filter(([k]) => !RUN_FIELDS.has(k))),
  };
};

/** A setting in force that weakens the confinement of commands (src/weakenings.ts): shown on every run. */
export const WeakeningSchema = z.object({
  setting: z.string(),
  value: z.string(),
  /** Where it came from: the configuration file that sets it, the default, or what the machine allows. */
  source: z.string(),
  effect: z.string(),
});
export type Weakening = z.infer<typeof WeakeningSchema>;

export const ProjectRefSchema = z.object({
  /** The git base commit and the folder in the repository (absent outside git). */
  commit: z.string().optional(),
  prefix: z.string().optional(),
  remote: z.string().optional(),
  /** The manifest of the project's files in the content store, taken when a site was up: what sites unpack. */
  snapshot: z.string().optional(),
});
export const RunStarted = defineEvent(
  'RunStarted',
  'a run began: its tasks file, folder, tasks, those already done, its options, the weakenings in force and its project',
  z.preprocess(
    upcastRunStarted,
    z.object({
      tasksFile: z.string(),
      workdir: z.string(),
      taskIds: z.array(z.string()),
      alreadyDone: z.array(z.string()),
      options: RunOptionsSchema,
      /** The settings that weakened confinement when the run started (absent: none, or a log from before they were recorded). */
      weakened: z.array(WeakeningSchema).optional(),
      /** The project, not a path: its git base and remote, and the snapshot sites unpack (docs/scaling.md). */
      project: ProjectRefSchema.optional(),
    }),
  ),
);
export const RegressionSchema = z.object({
  taskId: z.string(),
  criterion: z.string(),
  reason: z.string(),
  /** The later tasks that may have broken it: those whose changes touched the files it reads, else all that ran after it. */
  suspects: z.array(z.string()),
  suspectedBy: z.enum(['files', 'order']),
});
export type Regression = z.infer<typeof RegressionSchema>;
/** `implement-agent verify`: every completed task's criteria checked again against the tree as it is. */
export const RunVerified = defineEvent(
  'RunVerified',
  '`verify`: the tasks checked again, each regression with its suspected later tasks',
  z.object({ checked: z.array(z.string()), regressions: z.array(RegressionSchema) }),
);
export const RunOutcomeSchema = z.enum(['succeeded', 'failed', 'unverified']);
export type RunOutcome = z.infer<typeof RunOutcomeSchema>;
export const RunFinished = defineEvent(
  'RunFinished',
  'every task has an outcome: status, completed, unverified, failed, skipped, duration, tokens, cost',
  z.object({
    /** `unverified`: no task failed, but one completed without evidence (its dependants not started). */
    status: RunOutcomeSchema,
    /** Completed with evidence; the unverified ones are listed apart (in logs from before, among these). */
    completed: z.array(z.string()),
    unverified: z.array(z.string()).optional(),
    failed: z.array(z.string()),
    skipped: z.array(z.string()),
    durationMs: z.number().nonnegative(),
    /** LLM tokens the run spent (prompt and completion), and their cost with the run's pricing. */
    tokens: z.number().int().nonnegative().optional(),
    usd: z.number().nonnegative().optional(),
  }),
);

/** The user stopped a run (Ctrl-C on the CLI hosting its actors): nothing more runs until resumed. */
export const RunInterrupted = defineEvent(
  'RunInterrupted',
  'the run stopped (Ctrl-C, or its LLM budget spent): nothing runs until resumed',
  /** `budget`: the coordinator stopped the run because its LLM budget is spent (`resume --budget` carries on). */
  z.object({ reason: z.string(), budget: z.boolean().optional() }),
);
/** `implement-agent resume`: work issued before this event is stale, the run goes on. */
export const RunResumed = defineEvent(
  'RunResumed',
  '`resume`: work issued before is stale, the run goes on (a new generation, a new budget)',
  z.object({ generation: z.number().int().positive(), budget: RunBudgetSchema.optional() }),
);
