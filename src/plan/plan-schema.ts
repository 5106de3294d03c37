import * as z from 'zod';
import { SuccessCriterionSchema } from '../tasklist/success-criterion.ts';

/** One shell command of a plan. `dependsOn` lists ids of commands that must finish first. */
export const PlanCommandSchema = z.object({
  id: z.string().min(1),
  command: z.string().min(1),
  description: z.string().default(''),
  timeoutMs: z.number().int().positive().optional(),
  expectedOutputs: z.array(z.string()).default([]),
  successIndicators: z.array(z.string()).default([]),
  failureIndicators: z.array(z.string()).default([]),
  retry: z.boolean().default(false),
  dependsOn: z.array(z.string()).default([]),
});
export type PlanCommand = z.infer<typeof PlanCommandSchema>;

/**
 * A branch taken at run time: commands in `whenTrue` run only if the check holds, those in
 * `whenFalse` only if it does not. Evaluated when the first gated command becomes ready.
 */
export const DecisionPointSchema = z.object({
  id: z.string().min(1),
  condition: z.string().default(''),
  evaluation: z.enum(['exit_code', 'file_exists', 'output_check']),
  /** exit_code / output_check: a shell command; file_exists: a path. */
  target: z.string().min(1),
  /** output_check: the text the command's output must contain. */
  expected: z.string().optional(),
  whenTrue: z.array(z.string()).default([]),
  whenFalse: z.array(z.string()).default([]),
});
export type DecisionPoint = z.infer<typeof DecisionPointSchema>;

export const ComplexitySchema = z.object({
  level: z.enum(['low', 'medium', 'high']),
  estimatedSteps: z.number().int().nonnegative(),
  risks: z.array(z.string()).default([]),
  confidence: z.number().min(0).max(1),
});

const FallbackSchema = z.object({
  trigger: z.string(),
  commands: z.array(z.string()).default([]),
});

export const PlanSchema = z.object({
  complexity: ComplexitySchema,
  commands: z.array(PlanCommandSchema),
  decisionPoints: z.array(DecisionPointSchema).default([]),
  successCriteria: z.array(SuccessCriterionSchema).default([]),
  fallbacks: z.array(FallbackSchema).default([]),
});
export type Plan = z.infer<typeof PlanSchema>;

export const PlanSourceSchema = z.enum(['explicit', 'cache', 'llm']);
export type PlanSource = z.infer<typeof PlanSourceSchema>;

/** A file whose content a plan was made from; `checksum` null: the task named it, it did not exist. */
export const PlanInputSchema = z.object({ path: z.string(), checksum: z.string().nullable() });
export type PlanInput = z.infer<typeof PlanInputSchema>;
