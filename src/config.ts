import { LLM_MODES } from './events/llm-mode.ts';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as z from 'zod';
import { CONCURRENCY_SPLIT, OPTIMIZATIONS_REMOVED } from './config-renames.ts';
import { InputError } from './errors.ts';
import { LimitsSchema } from './exec/limits.ts';
import { locate, syntaxErrorPosition, valueOffsets } from './json-positions.ts';
import { configSetting, continuePolicySetting, PricingSchema, RunBudgetSchema } from './events/run-options.ts';
import { DEFAULT_RULES } from './exec/policy.ts';
import { StrategyEffectSchema } from './recovery/effects.ts';

export { CONFIG_FILE } from './file-names.ts';
import { CONFIG_FILE } from './file-names.ts';
import { JS_DOMAIN, SITE_NAME } from './events/subjects.ts';
/** The configuration file a command reads: `--config FILE`, else the one in the current folder. */
export const configFile = (cwd: string, file?: string) => resolve(cwd, file ?? CONFIG_FILE);

/** Structured output, best first: a JSON Schema the server enforces, JSON mode, plain text (src/llm/capabilities.ts). */
export const STRUCTURED_OUTPUT_MODES = ['json_schema', 'json_object', 'text'] as const;
export const MAX_TOKENS_PARAMS = ['max_tokens', 'max_completion_tokens'] as const;
const RULE_IDS = DEFAULT_RULES.map((r) => r.id) as [string, ...string[]];

/**
 * setTimeout's ceiling: a longer delay fires at once (Node warns and waits 1 ms), so every
 * duration of the config is bounded by it when read.
 */
const MAX_DURATION_MS = 2 ** 31 - 1;
const durationMs = (min = 1) =>
  z
    .number()
    .int()
    .min(min)
    .max(MAX_DURATION_MS, {
      error: `at most ${MAX_DURATION_MS} ms (about 24.8 days): a longer timer would fire at once`,
    });

/** What a command's network namespace reaches (src/exec/netns.ts). */
export { NETWORK_MODES } from './exec/netns.ts';
import { NETWORK_MODES } from './exec/netns.ts';
const NetworkModeSchema = z.enum(NETWORK_MODES);
/** Older config files said `true` (installs need the network: "outbound") or `false` ("none"). */
const NetworkSchema = z.preprocess(
  (v) => (v === true ? 'outbound' : v === false ? 'none' : v),
  NetworkModeSchema.default('outbound'),
);

const SandboxModeSchema = z.enum(['auto', 'bwrap', 'none']);
const SandboxSchema = z
  .object({
    mode: SandboxModeSchema.default('auto'),
    network: NetworkSchema,
    writable: z.array(z.string()).default([]),
    /** Folders or files of the homes a command may read (`~/...`); the homes are otherwise empty inside. */
    readable: z.array(z.string()).default([]),
    /** Privileged sockets (the SSH agent's, docker.sock, /run/user/<uid>) a command may still connect to. */
    sockets: z.array(z.string()).default([]),
  })
  .strict();

/** Every setting and its default, in one place. */
export const ConfigSchema = z
  .object({
    /** Where an editor finds the JSON Schema of this file (implement-agent.config.schema.json). */
    $schema: z.string().optional(),
    natsUrl: z.string().optional(),
    /** JetStream replicas of every stream and bucket; unset: min(3, the server's cluster size) (src/nats/replicas.ts). */
    natsReplicas: z.number().int().min(1).max(5).optional(),
    /** The JetStream domain of the cluster's nodes (`cluster init --domain`), for a site behind a leaf node: docs/scaling.md. */
    natsDomain: z.string().regex(JS_DOMAIN, 'a JetStream domain is letters, digits, _ and -').optional(),
    /** The CA that signed the NATS servers' certificates (a PEM file); set, the connection must be TLS: docs/scaling.md. */
    natsCa: z.string().optional(),
    /** How long a work item held by a dead process waits before another process gets it. */
    workAckWaitMs: durationMs(1000).default(30_000),
    stateDir: z.string().default('.implement-agent'),
    /**
     * This machine as a site (`--site NAME`): its executors take the site's own queue and announce
     * its labels (`Needs: gpu` goes only to a site labelled gpu); see docs/scaling.md.
     */
    site: z
      .object({
        name: z.string().regex(SITE_NAME, 'a site name is letters, digits, _ and -'),
        labels: z.array(z.string().min(1)).default([]),
        heartbeatMs: durationMs(100).default(5_000),
      })
      .strict()
      .optional(),
    /** A task routed to a site that has not started it within this goes to another site (schedule-to-start). */
    siteStartTimeoutMs: durationMs(100).default(60_000),
    llm: z
      .object({
        mode: z.enum(LLM_MODES).optional(),
        baseUrl: z.string().url().optional(),
        apiKey: z.string().optional(),
        model: z.string().default('gpt-4o-mini'),
        timeoutMs: durationMs().default(60_000),
        /** Retries of a call that fails alone at the endpoint (overload, timeout); each attempt is recorded. */
        maxRetries: z.number().int().nonnegative().default(2),
        /** Calls in flight to the endpoint at most; fewer while it answers overload (src/llm/limiter.ts). */
        concurrency: z.number().int().min(1).max(64).default(8),
        strategy: z.enum(['batched', 'single', 'sequential']).default('batched'),
        /** Tokens (prompt + completion) one process may spend on one run: a safety ceiling (see runBudget). */
        tokenBudget: z.number().int().positive().default(200_000),
        /**
         * Pins of what the client otherwise learns from the endpoint's refusals (src/llm/capabilities.ts):
         * a pinned value is always sent as it is. `temperature: null` never sends one.
         */
        structuredOutput: z.enum(STRUCTURED_OUTPUT_MODES).optional(),
        temperature: z.number().min(0).max(2).nullable().optional(),
        maxTokensParam: z.enum(MAX_TOKENS_PARAMS).optional(),
        /** Completion tokens every call may use; unset: a cap per kind of call (src/llm/output-caps.ts). */
        maxOutputTokens: z.number().int().positive().optional(),
        /** US dollars per million tokens, to show what a run cost; no price list is built in. */
        pricing: PricingSchema.optional(),
        /** What one run may spend on the LLM, in tokens and/or US dollars (needs `pricing`); `--budget`. */
        runBudget: RunBudgetSchema.optional(),
      })
      .strict()
      .prefault({}),
    execution: z
      .object({
        /** Also the work items one executor process takes at once. */
        taskConcurrency: configSetting('taskConcurrency'),
        commandConcurrency: configSetting('commandConcurrency'),
        /** Each task planned ahead is one LLM round trip (two calls sent together with the batched strategy). */
        planAhead: configSetting('planAhead'),
        continuePolicy: continuePolicySetting(),
        /** A command's timeout; a plan may ask for less, never more. */
        commandTimeoutMs: durationMs().default(300_000),
        tailChars: z.number().int().positive().default(4000),
        keepBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        heartbeatMs: durationMs().default(5000),
        /** After a Ctrl-C, how long commands in flight may take to finish before they are stopped. */
        interruptGraceMs: durationMs(0).default(30_000),
        /** A failed task's changes: undone (`rollback`, after they are recorded, so `diff` shows them) or left (`keep`, to debug). */
        onFailure: z.enum(['rollback', 'keep']).default('rollback'),
        /**
         * `view`: each task runs in its own copy-on-write view of the working directory, merged on
         * success (docs/isolation.md); `copy`: in its own copy of the folder, bound at its path by
         * bubblewrap (what `view` falls back to where no overlay can be had and the tree is small);
         * `shared`: every task in the folder itself, as before.
         */
        isolation: z.enum(['view', 'copy', 'shared']).default('view'),
        /** The largest tree a task's copy is made of (`isolation: "copy"`, or the fallback); a larger one runs in the shared folder. */
        copyLimits: z
          .object({
            maxFiles: z.number().int().positive().default(2000),
            maxBytes: z
              .number()
              .int()
              .positive()
              .default(64 * 1024 * 1024),
          })
          .strict()
          .prefault({}),
        /** A task whose merge meets a path changed since its view began: run again on the new state (twice at most), or fail. */
        onConflict: z.enum(['retry', 'fail']).default('retry'),
        /** What one command may use (src/exec/limits.ts), confined or not. */
        limits: LimitsSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    context: z
      .object({
        /** Tokens of spec and history context a planning prompt may carry. */
        budgetTokens: z.number().int().positive().default(2000),
        /** Tokens of project files (named by the task, changed by earlier tasks) a prompt may carry. */
        projectTokens: z.number().int().nonnegative().default(4000),
        /** Lines of the project's file tree shown to the planner. */
        treeEntries: z.number().int().nonnegative().default(200),
      })
      .strict()
      .prefault({}),
    /** Deny-list rules (src/exec/policy.ts) this project allows; an unknown id is refused. */
    policy: z
      .object({
        allow: z
          .array(
            z.enum(RULE_IDS, {
              error: (issue) =>
                `unknown policy rule ${JSON.stringify(issue.input)}; known rules: ${RULE_IDS.join(', ')}`,
            }),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    /**
     * Confinement of every command (bubblewrap): the filesystem read-only except the working
     * directory, `writable` folders (`~/...` under the real home, relative ones from the current
     * folder) and a per-project home; a private /tmp. `"auto"` as a string
     * is short for `{ "mode": "auto" }`.
     */
    sandbox: z.preprocess((v) => (typeof v === 'string' ? { mode: v } : v), SandboxSchema).prefault({}),
    /** What each task changed in the working directory, recorded for `diff`, `revert` and rollback (src/workspace). */
    changes: z
      .object({
        /** A file larger than this is recorded by its stat only: its change is shown, not undoable. */
        maxFileBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        /** Contents one task may store; beyond it, changes are named as not stored. */
        maxTaskBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024),
        /** The run's file contents kept in memory as before contents (per run, in the executor). */
        maxKeptBytes: z
          .number()
          .int()
          .positive()
          .default(128 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    git: z
      .object({
        /** `per-task`: one commit per completed task when the working directory is a git repository (as `--commit`). */
        commit: z.enum(['off', 'per-task']).default('off'),
      })
      .strict()
      .prefault({}),
    /** Regexes of further secrets (tokens, keys) to blank out of output and prompts. */
    redaction: z
      .object({ patterns: z.array(z.string()).default([]) })
      .strict()
      .prefault({}),
    cache: z
      .object({
        similarityThreshold: z.number().min(0).max(1).default(0.85),
        maxEntries: z.number().int().positive().default(1000),
      })
      .strict()
      .prefault({}),
    recovery: z
      .object({
        patternsFile: z.string().optional(),
        /**
         * Strategy effects that are off by default and allowed here: "installs-network",
         * "kills-processes", "system" (see docs/recovery.md).
         */
        allow: z.array(StrategyEffectSchema).default([]),
        patternAttemptsBeforeLlm: z.number().int().nonnegative().default(3),
        /**
         * A fix may overwrite or delete a file from before the run once its content is stored (so
         * rollback and \`revert\` put it back). Off: such a fix is not applied and the failure escalates.
         */
        replacePredating: z.boolean().default(false),
        maxAttemptsPerTask: z.number().int().positive().default(6),
        /** Times the executor asks for recovery before giving up on an unanswered request. */
        requestTries: z.number().int().positive().default(4),
      })
      .strict()
      .prefault({}),
    snapshots: z
      .object({
        everyEvents: z.number().int().positive().default(1000),
        everyMs: durationMs().default(10_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

/** The configuration file's JSON Schema, generated from ConfigSchema (shipped as CONFIG_SCHEMA_FILE). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, unknown>;
  };
  // The preprocess that reads `"sandbox": "auto"` as `{ "mode": "auto" }` has no JSON Schema: say both forms.
  const { $schema: _, ...sandbox } = z.toJSONSchema(SandboxSchema, { io: 'input' }) as {
    $schema?: string;
    properties: Record<string, unknown>;
  };
  // Nor the one that reads the old `network: true/false`.
  sandbox.properties.network = { anyOf: [{ type: 'string', enum: [...NETWORK_MODES] }, { type: 'boolean' }] };
  const { $schema: __, ...mode } = z.toJSONSchema(SandboxModeSchema);
  schema.properties.sandbox = { anyOf: [mode, sandbox] };
  return { ...schema, title: 'implement-agent.config.json' };
}
export const CONFIG_SCHEMA_FILE = 'implement-agent.config.schema.json';
type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};
export type ConfigOverrides = DeepPartial<z.input<typeof ConfigSchema>>;

/**
 * Flags, then environment, then implement-agent.config.json, then defaults. A bad file or value
 * is an InputError naming the file and the field.
 */
export async function loadConfig(
  options: {
    cwd?: string;
    file?: string;
    flags?: ConfigOverrides;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<Config> {
  const env = options.env ?? process.env;
  const path = configFile(options.cwd ?? process.cwd(), options.file);
  const { value: fromFile, text } = await readConfigFile(path, options.file !== undefined);
  const fromEnv: ConfigOverrides = {
    ...(env.NATS_URL ? { natsUrl: env.NATS_URL } : {}),
    ...(env.NATS_DOMAIN ? { natsDomain: env.NATS_DOMAIN } : {}),
    ...(env.NATS_CA ? { natsCa: env.NATS_CA } : {}),
    llm: {
      ...(env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY } : {}),
      ...(env.OPENAI_BASE_URL ? { baseUrl: env.OPENAI_BASE_URL } : {}),
      ...(env.IMPLEMENT_AGENT_MODEL ? { model: env.IMPLEMENT_AGENT_MODEL } : {}),
    },
  };
  const merged = [fromFile, fromEnv, options.flags ?? {}].reduce<Record<string, unknown>>(
    (acc, layer) => merge(acc, layer),
    {},
  );
  if (isPlainObject(merged.execution) && 'concurrency' in merged.execution)
    throw new InputError(CONCURRENCY_SPLIT.config, { file: path });
  if ('optimizations' in merged) throw new InputError(OPTIMIZATIONS_REMOVED, { file: path });
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) throw new InputError(describeIssues(parsed.error.issues, text), { file: path });
  const config = parsed.data;
  // No key and no explicit mode: offline, so the example and cached plans work without an account.
  config.llm.mode ??= config.llm.apiKey || config.llm.baseUrl ? 'openai' : 'offline';
  return config;
}

/**
 * Every problem of the configuration, each at its line and column in the file when it came from
 * there (a value from the environment or a flag has none): one round of fixes, not one per run.
 */
function describeIssues(issues: readonly z.core.$ZodIssue[], text: string | undefined): string {
  const offsets = text === undefined ? undefined : valueOffsets(text);
  return issues
    .map((issue, n) => {
      const at = text !== undefined && offsets ? locate(text, offsets, issue.path) : undefined;
      const where = `${issue.path.join('.') || '(root)'}${at ? ` (line ${at.line}, column ${at.column})` : ''}`;
      return `${n === 0 ? 'invalid configuration at' : '  and at'} ${where}: ${issue.message}`;
    })
    .join('\n');
}

async function readConfigFile(
  path: string,
  required: boolean,
): Promise<{ value: Record<string, unknown>; text?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === 'ENOENT') return { value: {} };
    throw new InputError(`cannot read config: ${(cause as Error).message}`, { file: path }, { cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const message = (cause as Error).message;
    const at = syntaxErrorPosition(text, message);
    throw new InputError(
      `config is not valid JSON${at ? ` at line ${at.line}, column ${at.column}` : ''}: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
      { file: path },
      { cause },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InputError('config is not valid: expected a JSON object ({ ... })', { file: path });
  return { value: value as Record<string, unknown>, text };
}

function merge(base: Record<string, unknown>, layer: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const prev = out[key];
    out[key] =
      isPlainObject(value) && isPlainObject(prev)
        ? merge(prev, value)
        : isPlainObject(value)
          ? merge({}, value)
          : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
