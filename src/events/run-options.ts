import * as z from 'zod';
import { CONTINUE_POLICIES } from './continue-policy.ts';
import { LLM_MODES } from './llm-mode.ts';
import { RUN_OPTIONS, type OptionValue, type RunOptionDecl, type RunOptionName } from './run-option-table.ts';

const ContinuePolicySchema = z.enum(CONTINUE_POLICIES);
export const LlmModeSchema = z.enum(LLM_MODES);

/** What a run may spend on the LLM: tokens and/or US dollars (priced with `llm.pricing`). */
export const RunBudgetSchema = z
  .object({ tokens: z.number().int().positive().optional(), usd: z.number().positive().optional() })
  .strict()
  .refine((b) => b.tokens !== undefined || b.usd !== undefined, 'give tokens or usd');
export type RunBudget = z.infer<typeof RunBudgetSchema>;
/** US dollars per million tokens (`llm.pricing`); cached prompt tokens at their own price when the provider has one. */
export const PricingSchema = z
  .object({
    inputPerMTok: z.number().nonnegative(),
    cachedInputPerMTok: z.number().nonnegative().optional(),
    outputPerMTok: z.number().nonnegative(),
  })
  .strict();
export type Pricing = z.infer<typeof PricingSchema>;

/**
 * Before the split, one `concurrency` meant both tasks at once and commands of a task at once:
 * records and work items written then are read with it as both.
 */
export const upcastConcurrency = (data: unknown): unknown => {
  if (typeof data !== 'object' || data === null || !('concurrency' in data)) return data;
  const { concurrency, ...rest } = data as Record<string, unknown>;
  return { taskConcurrency: concurrency, commandConcurrency: concurrency, ...rest };
};

type Decl<K extends RunOptionName> = (typeof RUN_OPTIONS)[K];
type ValueSchema<V> = V extends { kind: 'switch' }
  ? z.ZodBoolean
  : V extends { kind: 'count' }
    ? z.ZodNumber
    : V extends { kind: 'choice'; choices: readonly (infer C extends string)[] }
      ? z.ZodEnum<{ [c in C]: c }>
      : V extends { kind: 'ids' }
        ? z.ZodArray<z.ZodString>
        : V extends { kind: 'budget' }
          ? typeof RunBudgetSchema
          : z.ZodString;
type RecordedSchema<D> = D extends { recorded: 'always'; value: infer V }
  ? ValueSchema<V>
  : D extends { recorded: 'when-given'; value: infer V }
    ? z.ZodOptional<ValueSchema<V>>
    : D extends { value: infer V }
      ? z.ZodDefault<ValueSchema<V>>
      : never;
type RecordedName = { [K in RunOptionName]: Decl<K> extends { recorded: unknown } ? K : never }[RunOptionName];

/** A value as the run records it. */
function valueSchema(value: OptionValue): z.ZodType {
  switch (value.kind) {
    case 'switch':
      return z.boolean();
    case 'count':
      return z.number().int().min(value.min);
    case 'choice':
      return z.enum(value.choices as [string, ...string[]]);
    case 'ids':
      return z.array(z.string());
    case 'budget':
      return RunBudgetSchema;
    case 'text':
      return z.string();
  }
}

function recordedSchema(decl: RunOptionDecl): z.ZodType {
  const schema = valueSchema(decl.value);
  const recorded = decl.recorded!;
  if (recorded === 'always') return schema;
  if (recorded === 'when-given') return schema.optional();
  return schema.default(recorded.olderRecords as never);
}

const recordedOptions = Object.fromEntries(
  Object.entries(RUN_OPTIONS as Record<RunOptionName, RunOptionDecl>)
    .filter(([, decl]) => decl.recorded !== undefined)
    .map(([name, decl]) => [name, recordedSchema(decl)]),
) as { [K in RecordedName]: RecordedSchema<Decl<K>> };

/** How a run runs: set when it starts, the same in the work item that starts it, in RunStarted and in its status. */
export const RunOptionsSchema = z.preprocess(
  upcastConcurrency,
  z.object({
    ...recordedOptions,
    /** The prices in force when the run started: what its tokens cost is shown with them. */
    pricing: PricingSchema.optional(),
    /** Paths the CLI writes while the run goes (its redirected output, its state folder): never a task's change or the planner's context. */
    ownFiles: z.array(z.string()).optional(),
  }),
);
export type RunOptions = z.infer<typeof RunOptionsSchema>;

/** The configuration's setting a run option overrides: its value kind, bounds and default from the table. */
export function configSetting<K extends 'taskConcurrency' | 'commandConcurrency' | 'planAhead'>(name: K) {
  const decl: RunOptionDecl = RUN_OPTIONS[name];
  const { value } = decl;
  if (value.kind !== 'count') throw new Error(`run option ${name} is not a count`);
  const bounded = z.number().int().min(value.min);
  return (value.max === undefined ? bounded : bounded.max(value.max)).default(decl.default as number);
}

/** `--continue`'s setting in the configuration, with the table's default. */
export const continuePolicySetting = () => ContinuePolicySchema.default(RUN_OPTIONS.continuePolicy.default);
