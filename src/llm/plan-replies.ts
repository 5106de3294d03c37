import * as z from 'zod';
import {
  ComplexitySchema,
  DecisionPointSchema,
  PlanCommandSchema,
  PlanSchema,
  type Plan,
} from '../plan/plan-schema.ts';
import { SuccessCriterionSchema } from '../tasklist/success-criterion.ts';

/**
 * What the LLM is asked to return, per question. Structured outputs need every field present
 * (nullable, never optional), so these wire shapes differ from the Plan schema they become.
 */
const WireCommand = z.object({
  id: z.string(),
  command: z.string(),
  description: z.string(),
  timeoutSeconds: z.number().nullable(),
  expectedOutputs: z.array(z.string()),
  successIndicators: z.array(z.string()),
  failureIndicators: z.array(z.string()),
  retry: z.boolean(),
  dependsOn: z.array(z.string()),
});
const WireDecision = z.object({
  id: z.string(),
  condition: z.string(),
  evaluation: z.enum(['exit_code', 'file_exists', 'output_check']),
  target: z.string(),
  expected: z.string().nullable(),
  whenTrue: z.array(z.string()),
  whenFalse: z.array(z.string()),
});
const WireCriterion = z.object({
  kind: z.enum(['file_exists', 'command', 'output_contains']),
  path: z.string().nullable(),
  command: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  text: z.string().nullable(),
});
const WireComplexity = z.object({
  level: z.enum(['low', 'medium', 'high']),
  estimatedSteps: z.number(),
  risks: z.array(z.string()),
  confidence: z.number(),
});
const WireFallback = z.object({ trigger: z.string(), commands: z.array(z.string()) });

/** The unrefined shapes, extended into the replies below (zod refuses to extend a refined object). */
const parts = {
  complexity: z.object({ complexity: WireComplexity }),
  commands: z.object({ commands: z.array(WireCommand) }),
  decisionPoints: z.object({ decisionPoints: z.array(WireDecision) }),
  successCriteria: z.object({ successCriteria: z.array(WireCriterion) }),
  fallbacks: z.object({ fallbacks: z.array(WireFallback) }),
};

/**
 * The reply schema is the plan schema: each part of a reply is checked as the Plan it becomes,
 * so what the plan needs (a command's text, a criterion's path) is found wrong, and repaired, at
 * the reply, with the path of the field, never later as a raw zod error in a task's reason.
 */
function asPlan<T extends z.ZodObject>(schema: T): T {
  return schema.superRefine((wire, ctx) => {
    const w = wire as Partial<WirePlan>;
    const checks: [keyof WirePlan, z.ZodType, unknown][] = [
      ['complexity', ComplexitySchema, w.complexity && toComplexity(w.complexity)],
      ['commands', z.array(PlanCommandSchema), w.commands?.map(toCommand)],
      ['decisionPoints', z.array(DecisionPointSchema), w.decisionPoints?.map(toDecision)],
      ['successCriteria', z.array(SuccessCriterionSchema), w.successCriteria?.map(toCriterion)],
    ];
    for (const [field, part, value] of checks) {
      if (value === undefined) continue;
      const result = part.safeParse(value);
      for (const issue of result.success ? [] : result.error.issues)
        ctx.addIssue({ code: 'custom', path: [field, ...issue.path], message: issue.message });
    }
  });
}

export const questions = {
  complexity: asPlan(parts.complexity),
  commands: asPlan(parts.commands),
  decisionPoints: asPlan(parts.decisionPoints),
  successCriteria: asPlan(parts.successCriteria),
  fallbacks: parts.fallbacks,
};
export type QuestionName = keyof typeof questions;
export const questionOrder: QuestionName[] = [
  'complexity',
  'commands',
  'decisionPoints',
  'successCriteria',
  'fallbacks',
];

/** The batched strategy's two calls, and the single strategy's one. */
const analysisShape = parts.complexity.extend(parts.commands.shape).extend(parts.decisionPoints.shape);
const criteriaShape = parts.successCriteria.extend(parts.fallbacks.shape);
export const analysisReply = asPlan(analysisShape);
export const criteriaReply = asPlan(criteriaShape);
export const wholePlanReply = asPlan(analysisShape.extend(criteriaShape.shape));

export type WirePlan = z.infer<typeof wholePlanReply>;

const toComplexity = (c: WirePlan['complexity']) => ({
  ...c,
  estimatedSteps: Math.max(0, Math.round(c.estimatedSteps)),
  confidence: Math.min(1, Math.max(0, c.confidence)),
});
const toCommand = ({ timeoutSeconds, ...c }: WirePlan['commands'][number]) => ({
  ...c,
  ...(timeoutSeconds ? { timeoutMs: Math.round(timeoutSeconds * 1000) } : {}),
});
const toDecision = ({ expected, ...d }: WirePlan['decisionPoints'][number]) => ({
  ...d,
  ...(expected !== null ? { expected } : {}),
});
const toCriterion = (c: WirePlan['successCriteria'][number]) =>
  c.kind === 'file_exists'
    ? { kind: c.kind, path: c.path }
    : c.kind === 'command'
      ? { kind: c.kind, command: c.command, exitCode: c.exitCode ?? 0 }
      : { kind: c.kind, command: c.command, text: c.text, exitCode: c.exitCode ?? 0 };

/** The wire answers as a Plan: the replies were checked against it part by part (asPlan). */
export function toPlan(wire: WirePlan): Plan {
  return PlanSchema.parse({
    complexity: toComplexity(wire.complexity),
    commands: wire.commands.map(toCommand),
    decisionPoints: wire.decisionPoints.map(toDecision),
    successCriteria: wire.successCriteria.map(toCriterion),
    fallbacks: wire.fallbacks,
  });
}
