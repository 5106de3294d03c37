import * as z from 'zod';
import { PlanInputSchema, PlanSchema, PlanSourceSchema } from '../plan/plan-schema.ts';
import { TaskSpecSchema } from '../tasklist/task-spec.ts';
import { RunBudgetSchema, RunOptionsSchema } from './run-options.ts';

/**
 * The one stream of this system: every event appended to AGENT_EVENTS. The TypeScript types
 * are inferred from these schemas; no other module spells an event type as a string literal.
 */

/** A run's id: a valid NATS subject token (newRunId makes them). */
export const RunIdSchema = z.string().regex(/^[A-Za-z0-9_-]+$/, 'a run id is letters, digits, _ and -');

const envelope = {
  id: z.string().min(1),
  v: z.literal(1),
  runId: RunIdSchema,
  taskId: z.string().optional(),
  /** ISO-8601 time the event was made. */
  at: z.string(),
  causationId: z.string().optional(),
};

function defineEvent<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z.object({ ...envelope, type: z.literal(type), data });
}

const CommandPurposeSchema = z.enum(['plan', 'recovery', 'check', 'decision']);
const RecoverySourceSchema = z.enum(['pattern', 'learned', 'llm']);
/** `conflict`: the task's view could not be merged, a path it changed having changed since it began (src/workspace/merge.ts). */
const FailureStageSchema = z.enum([
  'planning',
  'policy',
  'execution',
  'recovery',
  'verification',
  'dependency',
  'conflict',
]);

const commandRef = {
  commandId: z.string(),
  command: z.string(),
  attempt: z.number().int().nonnegative(),
  purpose: CommandPurposeSchema,
};
const recoveryRef = {
  commandId: z.string(),
  attempt: z.number().int().nonnegative(),
  patternId: z.string().optional(),
  strategyId: z.string(),
  source: RecoverySourceSchema,
};

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
export const TaskSubmitted = defineEvent('TaskSubmitted', z.object({ task: TaskSpecSchema }));
export const PlanCacheHit = defineEvent(
  'PlanCacheHit',
  z.object({
    key: z.string(),
    entryKey: z.string(),
    /** `drafted`: a plan of `run --dry --plan`, served on its exact key, not yet proven by a run. */
    match: z.enum(['exact', 'similar', 'drafted']),
    similarity: z.number(),
    adaptations: z.array(z.object({ from: z.string(), to: z.string() })),
  }),
);
export const PlanCacheMiss = defineEvent(
  'PlanCacheMiss',
  z.object({
    key: z.string(),
    reason: z.string(),
    bestEntryKey: z.string().optional(),
    bestSimilarity: z.number().optional(),
  }),
);
/** How one HTTP attempt to the LLM ended (src/llm/failures.ts). */
export const LlmOutcomeSchema = z.enum(['ok', 'truncated', 'refused', 'overloaded', 'timeout', 'failed', 'cancelled']);
export const LlmCalled = defineEvent(
  'LlmCalled',
  z.object({
    purpose: z.string(),
    model: z.string(),
    durationMs: z.number().nonnegative(),
    ok: z.boolean(),
    promptTokens: z.number().int().nonnegative().optional(),
    completionTokens: z.number().int().nonnegative().optional(),
    /** Prompt tokens served from the endpoint's prompt cache (OpenAI's prompt_tokens_details). */
    cachedTokens: z.number().int().nonnegative().optional(),
    error: z.string().optional(),
    /** The refusal that taught the client something (then retried at once, degraded), when it was one. */
    refused: z.string().optional(),
    /** One event per HTTP attempt (the client retries itself): which attempt, what came back, and how it ended. */
    attempt: z.number().int().positive().optional(),
    status: z.number().int().optional(),
    outcome: LlmOutcomeSchema.optional(),
    /** The output cap the request carried. */
    maxTokens: z.number().int().positive().optional(),
  }),
);
/** What the LLM client negotiates per endpoint and model (src/llm/capabilities.ts). */
export const CapabilitySettingSchema = z.enum([
  'structuredOutput',
  'temperature',
  'maxTokensParam',
  /** Tokens of prompt and reply one request may hold (the endpoint's refusal or its metadata said). */
  'contextTokens',
  /** Calls in flight the endpoint took without overload (src/llm/limiter.ts). */
  'concurrency',
  /** `off`: the endpoint refused a streamed request, so replies are asked for whole (src/llm/stream.ts). */
  'streaming',
]);
/**
 * What an endpoint and model were found to refuse, and what the client uses instead from then on
 * (folded by the llm-capabilities projection, so no later call or run is refused for it again).
 */
export const LlmCapabilityLearned = defineEvent(
  'LlmCapabilityLearned',
  z.object({
    endpoint: z.string(),
    model: z.string(),
    setting: CapabilitySettingSchema,
    value: z.string(),
    reason: z.string(),
  }),
);
/** What a plan was made from and for: the plan cache's key and what similar lookups read. */
const madePlan = {
  taskKey: z.string(),
  /** Checksum of the compressed context this task was planned with (part of the key). */
  contextChecksum: z.string(),
  /** Checksum of all spec files: a similar hit needs it unchanged (absent in early logs). */
  specChecksum: z.string().default(''),
  /** The normalised task text the key was computed from; similar-hit matching reads it. */
  taskText: z.string(),
  plan: PlanSchema,
  durationMs: z.number().nonnegative(),
  /** Files whose content the plan was made from (null: named, did not exist). */
  inputs: z.array(PlanInputSchema).default([]),
};
export const PlanCreated = defineEvent(
  'PlanCreated',
  z.object({
    source: PlanSourceSchema,
    strategy: z.string().optional(),
    ...madePlan,
    /** 0 for the first plan of a task; n after its n-th PlanInvalidated. */
    revision: z.number().int().nonnegative().default(0),
  }),
);
/**
 * A plan `run --dry --plan` made with the LLM, ahead of any run of its task: the plan cache serves
 * it to the next run of the same task (same key) as drafted, unproven; it becomes a plan that
 * worked only when that run's task completes.
 */
export const PlanDrafted = defineEvent('PlanDrafted', z.object({ strategy: z.string().optional(), ...madePlan }));
/**
 * Planning stopped because its task will not run (skipped: a dependency failed) or its run is
 * over: the calls in flight were cancelled (each an LlmCalled `cancelled`), and no plan is made.
 */
export const PlanCancelled = defineEvent(
  'PlanCancelled',
  z.object({ revision: z.number().int().nonnegative(), reason: z.string() }),
);
/** A plan made ahead whose inputs changed (an earlier task wrote them) before its task started. */
export const PlanInvalidated = defineEvent(
  'PlanInvalidated',
  z.object({
    /** The revision the next plan will carry. */
    revision: z.number().int().positive(),
    changed: z.array(z.object({ path: z.string(), was: z.string().nullable(), now: z.string().nullable() })),
    reason: z.string(),
  }),
);
/** The coordinator sent the task's execute item to a site's own queue (`attempt`: 0, then one more per reroute). */
export const TaskRouted = defineEvent(
  'TaskRouted',
  z.object({ site: z.string(), attempt: z.number().int().nonnegative(), reason: z.string() }),
);
/**
 * The route attempt an executor's record belongs to (TaskRouted's `attempt`), on a site's
 * records only: a record of an attempt since superseded (its site was taken for dead) is discarded.
 */
const routeAttempt = { routeAttempt: z.number().int().nonnegative().optional() };
/**
 * A site taken for dead (silent for three beats) while it held the task's current route attempt:
 * an infrastructure loss (Buildkite's `agent_stop`), not the task's failure; the task is routed again.
 */
export const TaskAttemptLost = defineEvent(
  'TaskAttemptLost',
  z.object({ site: z.string(), attempt: z.number().int().nonnegative(), reason: z.enum(['site-dead']) }),
);
/** No live site meets what the task asks (`Site:`, `Needs:`): it waits for one, and this says why. */
export const TaskWaiting = defineEvent('TaskWaiting', z.object({ reason: z.string() }));
export const CommandStarted = defineEvent(
  'CommandStarted',
  z.object({
    ...commandRef,
    /** Process group and host: a resumed executor ends what a dead one left running. */
    pgid: z.number().int().optional(),
    host: z.string().optional(),
    /** The confinement in force: `bwrap (...)` or `none: why`. */
    confinement: z.string().optional(),
    /** The site whose executor runs it (`--site`); none on the shared queue. */
    site: z.string().optional(),
    ...routeAttempt,
  }),
);
export const CommandHeartbeat = defineEvent(
  'CommandHeartbeat',
  z.object({
    commandId: z.string(),
    attempt: z.number().int().nonnegative(),
    elapsedMs: z.number(),
    lastLine: z.string(),
  }),
);
/** A site's executor is up (its run id SITES_RUN, its task id the site): what it can run, sent again every heartbeat. */
export const SiteHeartbeat = defineEvent(
  'SiteHeartbeat',
  z.object({
    site: z.string(),
    labels: z.array(z.string()),
    slots: z.number().int().positive(),
    host: z.string(),
    pid: z.number().int(),
    /** The next beat comes within this: a site silent for three of them is taken for dead. */
    intervalMs: z.number().int().positive(),
  }),
);
export const CommandFinished = defineEvent(
  'CommandFinished',
  z.object({
    ...commandRef,
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    timedOut: z.boolean(),
    durationMs: z.number().nonnegative(),
    startedAt: z.string(),
    stdoutTail: z.string(),
    stderrTail: z.string(),
    truncated: z.boolean(),
    /** Object-store name of the whole output when it did not fit in the tails. */
    outputRef: z.string().optional(),
    /** The sandbox refused a write: which, and how to allow it. */
    refused: z.string().optional(),
    /** Rules that blanked secrets out of the output (by name or by shape). */
    redacted: z.array(z.string()).default([]),
  }),
);
export const CommandDenied = defineEvent(
  'CommandDenied',
  z.object({ commandId: z.string(), command: z.string(), rule: z.string(), reason: z.string() }),
);
export const RecoveryAttempted = defineEvent(
  'RecoveryAttempted',
  z.object({ ...recoveryRef, commands: z.array(z.string()), retry: z.boolean(), diagnosis: z.string().optional() }),
);
export const RecoveryResolved = defineEvent('RecoveryResolved', z.object({ ...recoveryRef, durationMs: z.number() }));
export const RecoveryFailed = defineEvent(
  'RecoveryFailed',
  z.object({ ...recoveryRef, durationMs: z.number(), reason: z.string() }),
);
/**
 * What shows a completed task did its work: its success criteria held, or its commands succeeded
 * as planned; `none` when a fix replaced a failed command and no criterion was checked (the task
 * is then recorded as unverified and not ticked).
 */
/**
 * A finished task's box ticked in its tasks.md, recorded by the host that wrote it: the last
 * step of a task is in the log, so nothing reads the file to learn it.
 */
export const TaskTicked = defineEvent(
  'TaskTicked',
  z.object({
    tasksFile: z.string(),
    /** Why the box could not be written (the run goes on: the log says the task is done). */
    failed: z.string().optional(),
  }),
);
export const EvidenceSchema = z.enum(['criteria', 'commands', 'none']);
export type Evidence = z.infer<typeof EvidenceSchema>;
export const TaskCompleted = defineEvent(
  'TaskCompleted',
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
  }),
);
/**
 * A failed task's changes undone (`execution.onFailure: rollback`): the tree as the task found it.
 * `discarded`: the task ran in its own view, which was thrown away: none of it reached the folder.
 */
/** A conflict's paths, each with who changed it since the task's view began (`task 2`, `another run (<runId>)`, or `not a task`). */
const ConflictsSchema = z.array(z.object({ path: z.string(), by: z.string() }));
export const TaskRolledBack = defineEvent(
  'TaskRolledBack',
  z.object({
    restored: z.array(z.string()),
    kept: z.array(z.object({ path: z.string(), reason: z.string() })),
    discarded: z.boolean().optional(),
    /** The view was discarded on a conflict and the task runs again: this is rerun `attempt` of at most `of`. */
    rerun: z.object({ attempt: z.number().int(), of: z.number().int(), conflicts: ConflictsSchema }).optional(),
  }),
);
/** `implement-agent revert`: the task's files have their before contents again and its box is unticked. */
export const TaskReverted = defineEvent(
  'TaskReverted',
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
  z.object({ checked: z.array(z.string()), regressions: z.array(RegressionSchema) }),
);
export const TaskFailed = defineEvent(
  'TaskFailed',
  z.object({
    stage: FailureStageSchema,
    reason: z.string(),
    commandId: z.string().optional(),
    conflicts: ConflictsSchema.optional(),
    ...routeAttempt,
  }),
);
export const TaskSkipped = defineEvent(
  'TaskSkipped',
  /** `optional`: skipped by choice (`[ ]*` with --skip-optional): its dependants still run. */
  z.object({ reason: z.string(), optional: z.boolean().default(false) }),
);
export const RunOutcomeSchema = z.enum(['succeeded', 'failed', 'unverified']);
export type RunOutcome = z.infer<typeof RunOutcomeSchema>;
export const RunFinished = defineEvent(
  'RunFinished',
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
  /** `budget`: the coordinator stopped the run because its LLM budget is spent (`resume --budget` carries on). */
  z.object({ reason: z.string(), budget: z.boolean().optional() }),
);
/** `implement-agent resume`: work issued before this event is stale, the run goes on. */
export const RunResumed = defineEvent(
  'RunResumed',
  z.object({ generation: z.number().int().positive(), budget: RunBudgetSchema.optional() }),
);

export const AgentEventSchema = z.discriminatedUnion('type', [
  RunStarted,
  TaskSubmitted,
  PlanCacheHit,
  PlanCacheMiss,
  LlmCalled,
  LlmCapabilityLearned,
  PlanCreated,
  PlanDrafted,
  PlanCancelled,
  PlanInvalidated,
  TaskRouted,
  TaskWaiting,
  TaskAttemptLost,
  CommandStarted,
  CommandHeartbeat,
  SiteHeartbeat,
  CommandFinished,
  CommandDenied,
  RecoveryAttempted,
  RecoveryResolved,
  RecoveryFailed,
  TaskCompleted,
  TaskTicked,
  TaskFailed,
  TaskSkipped,
  TaskFilesChanged,
  TaskRolledBack,
  TaskReverted,
  RunVerified,
  RunInterrupted,
  RunResumed,
  RunFinished,
]);

export type AgentEvent = z.infer<typeof AgentEventSchema>;
export type AgentEventType = AgentEvent['type'];
export type EventOf<T extends AgentEventType> = Extract<AgentEvent, { type: T }>;
export type EventData<T extends AgentEventType> = EventOf<T>['data'];

/** Every event type, in declaration order: for docs, `watch --type` validation and tests. */
export const agentEventTypes: AgentEventType[] = AgentEventSchema.options.map((o) => o.shape.type.value);

/** An event as read back from the stream: the envelope plus its stream sequence. */
export type StoredEvent = AgentEvent & { seq: number };
export type StoredEventOf<T extends AgentEventType> = Extract<StoredEvent, { type: T }>;

/** Makes an event with a fresh envelope; `id` should be deterministic where the effect may be redone. */
export function makeEvent<T extends AgentEventType>(
  type: T,
  fields: { runId: string; taskId?: string; id?: string; causationId?: string; at?: Date },
  data: EventData<T>,
): EventOf<T> {
  const event = {
    id: fields.id ?? crypto.randomUUID(),
    v: 1 as const,
    type,
    runId: fields.runId,
    at: (fields.at ?? new Date()).toISOString(),
    data,
    ...(fields.taskId !== undefined ? { taskId: fields.taskId } : {}),
    ...(fields.causationId !== undefined ? { causationId: fields.causationId } : {}),
  };
  return event as unknown as EventOf<T>;
}

/** Terminal task events: after one of these a task takes no further part in its run. */
export function isTaskTerminal(event: AgentEvent): boolean {
  return event.type === 'TaskCompleted' || event.type === 'TaskFailed' || event.type === 'TaskSkipped';
}
