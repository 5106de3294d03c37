import { CONTINUE_POLICIES } from './continue-policy.ts';
import { LLM_MODES } from './llm-mode.ts';

/**
 * Every option of `implement-agent run`, each declared once: its flag, the value it takes, the
 * configuration key it overrides, its default, how the run records it (RunStarted, the work item
 * that starts a run) and its help text. The CLI's parser, usage and help, the configuration's
 * schema, the run's options and their event schema are derived from it. No zod here: `--help`
 * is answered from a bundle that must stay small (scripts/build.mjs).
 */

export type OptionValue =
  | { kind: 'switch' }
  | { kind: 'count'; min: 0 | 1; max?: number; arg: string }
  | { kind: 'choice'; choices: readonly string[]; arg?: string }
  | { kind: 'text'; arg: string }
  /** Tokens or US dollars (`50k`, `$2`), read by src/llm/cost.ts. */
  | { kind: 'budget'; arg: string }
  /** Words after the task list (`run tasks.md --replan 2 3`), none meaning all. */
  | { kind: 'ids'; arg: string };

/** How the run records an option: always, only when given, or with a value for records made before it existed. */
export type Recorded = 'always' | 'when-given' | { olderRecords: number | boolean };

export type ConfigKey =
  | 'execution.taskConcurrency'
  | 'execution.commandConcurrency'
  | 'execution.planAhead'
  | 'execution.continuePolicy'
  | 'llm.mode'
  | 'llm.runBudget';

export type RunOptionDecl = {
  flag: string;
  value: OptionValue;
  /** The configuration key the flag overrides; the run records the configuration's value. */
  config?: ConfigKey;
  default?: number | string;
  recorded?: Recorded;
  /** Another flag this one only goes with. */
  with?: string;
  /** Left out of the usage's one-line synopsis (shown in `run --help`). */
  helpOnly?: boolean;
  help: string;
};

const switchValue = { kind: 'switch' } as const;

export const RUN_OPTIONS = {
  workdir: {
    flag: 'workdir',
    value: { kind: 'text', arg: 'DIR' },
    help: 'where commands run (default: the current folder)',
  },
  llm: {
    flag: 'llm',
    value: { kind: 'choice', choices: LLM_MODES },
    config: 'llm.mode',
    recorded: 'always',
    help: 'the planner (default: openai when OPENAI_API_KEY or OPENAI_BASE_URL is set)',
  },
  taskConcurrency: {
    flag: 'task-concurrency',
    value: { kind: 'count', min: 1, max: 64, arg: 'N' },
    config: 'execution.taskConcurrency',
    default: 3,
    recorded: 'always',
    help: 'tasks running at once',
  },
  commandConcurrency: {
    flag: 'command-concurrency',
    value: { kind: 'count', min: 1, max: 64, arg: 'N' },
    config: 'execution.commandConcurrency',
    default: 3,
    recorded: 'always',
    help: 'commands of one task running at once, where their dependencies allow',
  },
  planAhead: {
    flag: 'plan-ahead',
    value: { kind: 'count', min: 0, max: 256, arg: 'N' },
    config: 'execution.planAhead',
    default: 4,
    recorded: { olderRecords: 0 },
    help: 'tasks planned at once ahead of execution (0: plan when a task may start)',
  },
  continuePolicy: {
    flag: 'continue',
    value: { kind: 'choice', choices: CONTINUE_POLICIES, arg: 'P' },
    config: 'execution.continuePolicy',
    default: 'dependencies-successful',
    recorded: 'always',
    help: `${CONTINUE_POLICIES.join(' | ')}, after a task fails`,
  },
  skipOptional: {
    flag: 'skip-optional',
    value: switchValue,
    recorded: { olderRecords: false },
    help: 'record `[ ]*` tasks as skipped instead of running them',
  },
  budget: {
    flag: 'budget',
    value: { kind: 'budget', arg: 'N|$N' },
    config: 'llm.runBudget',
    recorded: 'when-given',
    help: 'what the run may spend on the LLM: tokens (50000, 50k) or US dollars ($2, needs llm.pricing);\nonce spent, tasks that need the LLM wait and the run stops for `resume --budget`',
  },
  pauseAfter: {
    flag: 'pause-after',
    value: { kind: 'count', min: 1, arg: 'N' },
    recorded: 'when-given',
    help: 'a review point: the run stops as interrupted once N tasks have completed; `resume` runs the rest',
  },
  commit: {
    flag: 'commit',
    value: switchValue,
    recorded: 'when-given',
    help: 'in a git repository, one commit per completed task holding exactly its files\n(files dirty before the run are never committed); also `git.commit: "per-task"`',
  },
  verify: {
    flag: 'verify',
    value: switchValue,
    help: "once the run is over, check every completed task's criteria again (as `verify`)",
  },
  force: { flag: 'force', value: switchValue, help: 'run tasks already ticked too' },
  replan: {
    flag: 'replan',
    value: { kind: 'ids', arg: '[task...]' },
    recorded: 'when-given',
    help: 'plan these tasks anew (after the list: `run tasks.md --replan 2 3`; none named: all),\nnot from the plan cache',
  },
  dry: { flag: 'dry', value: switchValue, help: 'print each plan and its command graph; run nothing' },
  plan: {
    flag: 'plan',
    value: switchValue,
    with: 'dry',
    help: 'with --dry: plan what needs the LLM (as a run would, spend shown and recorded)\nand keep the plans, so the next run of those tasks makes no LLM call for them',
  },
  json: { flag: 'json', value: switchValue, help: "print the run's events as NDJSON" },
  config: {
    flag: 'config',
    value: { kind: 'text', arg: 'FILE' },
    helpOnly: true,
    help: 'another implement-agent.config.json',
  },
} as const satisfies Record<string, RunOptionDecl>;

export type RunOptionName = keyof typeof RUN_OPTIONS;

type ValueOf<V extends OptionValue> = V extends { kind: 'switch' }
  ? boolean
  : V extends { kind: 'count' }
    ? number
    : V extends { kind: 'choice'; choices: readonly (infer C)[] }
      ? C
      : V extends { kind: 'ids' }
        ? string[]
        : V extends { kind: 'budget' }
          ? { tokens?: number; usd?: number }
          : string;

/** What the command line gave, by option name; an option not given is absent. */
export type RunFlagValues = { -readonly [K in RunOptionName]?: ValueOf<(typeof RUN_OPTIONS)[K]['value']> };

/** The options as a list, in the order help shows them. */
export const runOptionList = (): [RunOptionName, RunOptionDecl][] =>
  Object.entries(RUN_OPTIONS) as [RunOptionName, RunOptionDecl][];

/** `--flag ARG` as help and the synopsis show it. */
export function flagWithArg(decl: RunOptionDecl, choicesInline = false): string {
  const v = decl.value;
  if (v.kind === 'switch') return `--${decl.flag}`;
  const arg = v.kind === 'choice' ? (!choicesInline && v.arg) || v.choices.join('|') : v.arg;
  return `--${decl.flag} ${arg}`;
}
