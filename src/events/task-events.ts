import * as z from 'zod';
import { TaskSpecSchema } from '../tasklist/task-spec.ts';
import { defineEvent } from './event-envelope.ts';
import { routeAttempt } from './site-events.ts';

/** A task's life: submitted, its outcome, what it changed, rolled back, reverted, its box ticked. */

export const TaskSubmitted = defineEvent(
  'TaskSubmitted',
  'a task of the run, as parsed from the list',
  z.object({ task: TaskSpecSchema }),
);
/**
 * `conflict`: the task's view could not be merged, a path it changed having changed since it began
 * (src/workspace/merge.ts); `merge`: its change set could not be applied (a full disk, a rename
 * refused), so nothing of it was. After either, `resume` runs the task again.
 */
const FailureStageSchema = z.enum([
  'planning',
  'policy',
  'execution',
  'recovery',
  'verification',
  'dependency',
  'conflict',
  'merge',
]);
/**
 * A finished task's box ticked in its tasks.md, recorded by the host that wrote it: the last
 * step of a task is in the log, so nothing reads the file to learn it.
 */
export const TaskTicked = defineEvent(
  'TaskTicked',
  "the task's box written in its tasks.md, or why it could not be: a task's last step",
  z.object({
    tasksFile: z.string(),
    /** Why the box could not be written (the run goes on: the log says the task is done). */
    failed: z.string().optional(),
  }),
);
/**
 * What shows a completed task did its work: its success criteria held, or its commands succeeded
 * as planned; `none` when a fix replaced a failed command and no criterion was checked (the task
 * is then recorded as unverified and not ticked).
 */
export const EvidenceSchema = z.enum(['criteria', 'commands', 'none']);
export type Evidence = z.infer<typeof EvidenceSchema>;
export const TaskCompleted = defineEvent(
  'TaskCompleted',
  "the task's outcome, done: duration, commands, recoveries, evidence, commit (one outcome per task)",
  z.object({
    durationMs: z.number().nonnegative(),
    commands: z.number().int(),
    recoveries: z.number().int(),
    /** Absent in logs from before evidence was recorded: then `commands`. */
    evidence: EvidenceSchema.optional(),
    /** The commit holding the task's files (`--commit`). */
    commit: z.string().optional(),
    ...routeAttempt,
  }),
);
/** One path a task changed; contents are named by their sha256 in the agent_contents object store. */
export const FileChangeSchema = z.object({
  path: z.string(),
  /** What the path is after the task (before it, when deleted). */
  kind: z.enum(['file', 'link']),
  /** What it was before, when that differs (a file replaced by a link). */
  beforeKind: z.enum(['file', 'link']).optional(),
  /** null: the path did not exist before (created) or after (deleted). */
  before: z.string().nullable(),
  after: z.string().nullable(),
  beforeMode: z.number().int().nullable(),
  mode: z.number().int().nullable(),
  size: z.number().int().nonnegative(),
  /** Both contents are stored: the change can be shown and undone. */
  stored: z.boolean(),
});
export type FileChange = z.infer<typeof FileChangeSchema>;
/** What a task changed in the working directory, noted when it ended (src/workspace). */
export const TaskFilesChanged = defineEvent(
  'TaskFilesChanged',
  'each path the task changed (content hashes, modes, kind), ignored paths counted, what was not stored',
  z.object({
    files: z.array(FileChangeSchema),
    /** Folders and files the project ignores (node_modules, build output) that changed: counted, not stored. */
    ignored: z.array(z.object({ path: z.string(), entries: z.number().int().nonnegative() })),
    /** Contents not stored (too large, over the task's cap): their change is shown, not undoable. */
    skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
    /** Tasks running in the same folder meanwhile (`execution.isolation: "shared"` only): some of these changes may be theirs. */
    alongside: z.array(z.string()).default([]),
    /** Recorded right after this recovery fix (`c2 recovery 1`): the task's changes so far; the rest come in its next record. */
    fix: z.string().optional(),
    ...routeAttempt,
  }),
);
/** A conflict's paths, each with who changed it since the task's view began (`task 2`, `another run (<runId>)`, or `not a task`). */
const ConflictsSchema = z.array(z.object({ path: z.string(), by: z.string() }));
/**
 * A failed task's changes undone (`execution.onFailure: rollback`): the tree as the task found it.
 * `discarded`: the task ran in its own view, which was thrown away: none of it reached the folder.
 */
export const TaskRolledBack = defineEvent(
  'TaskRolledBack',
  "a failed task's view discarded (or rerun on a conflict), or in a shared folder its paths restored",
  z.object({
    restored: z.array(z.string()),
    kept: z.array(z.object({ path: z.string(), reason: z.string() })),
    discarded: z.boolean().optional(),
    /** The view was discarded on a conflict and the task runs again: this is rerun `attempt` of at most `of`. */
    rerun: z.object({ attempt: z.number().int(), of: z.number().int(), conflicts: ConflictsSchema }).optional(),
    ...routeAttempt,
  }),
);
/** `implement-agent revert`: the task's files have their before contents again and its box is unticked. */
export const TaskReverted = defineEvent(
  'TaskReverted',
  "`revert`: the task's paths restored, those forced and the stored copies of what they held",
  z.object({
    restored: z.array(z.string()),
    forced: z.array(z.string()),
    /** What `--force` wrote over, stored first in agent_contents under these hashes: no content is lost to a revert. */
    overwritten: z.array(z.object({ path: z.string(), content: z.string() })).optional(),
    commit: z.string().optional(),
    /** The plan-cache entry the task was run from: stale now, so the next run plans the task anew. */
    stalePlan: z.string().optional(),
  }),
);
export const TaskFailed = defineEvent(
  'TaskFailed',
  "the task's outcome, failed: stage, reason, the command, a conflict's paths and who changed them",
  z.object({
    stage: FailureStageSchema,
    reason: z.string(),
    commandId: z.string().optional(),
    conflicts: ConflictsSchema.optional(),
    ...routeAttempt,
  }),
);
/**
 * `resume` of a finished run: the task's change set was never applied (it failed at the `merge`
 * or as a `conflict`), so it runs again, from its first command, on the folder as it is now. What
 * it recorded before is no longer its outcome; its next outcome's id carries `generation`.
 */
export const TaskReopened = defineEvent(
  'TaskReopened',
  '`resume`: a task whose change set was never applied (merge, conflict) runs again on the folder as it is now',
  z.object({ generation: z.number().int().positive(), reason: z.string() }),
);
export const TaskSkipped = defineEvent(
  'TaskSkipped',
  "the task's outcome, skipped: a dependency failed, or optional tasks are skipped",
  /** `optional`: skipped by choice (`[ ]*` with --skip-optional): its dependants still run. */
  z.object({ reason: z.string(), optional: z.boolean().default(false) }),
);
