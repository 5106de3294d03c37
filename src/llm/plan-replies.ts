import * as z from 'zod';
import { PlanSchema, type Plan } from '../plan/plan-schema.ts';

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
  exitCode: z.number().nullable(),
  text: z.string().nullable(),
});
const WireComplexity = z.object({
  level: z.enum(['low', 'medium', 'high']),
  estimatedSteps: z.number(),
  risks: z.array(z.string()),
  confidence: z.number(),
});
const WireFallback = z.object({ trigger: z.string(), commands: z.array(z.string()) });

export const questions = {
  complexity: z.object({ complexity: WireComplexity }),
  commands: z.object({ commands: z.array(WireCommand) }),
  decisionPoints: z.object({ decisionPoints: z.array(WireDecision) }),
  successCriteria: z.object({ successCriteria: z.array(WireCriterion) }),
  fallbacks: z.object({ fallbacks: z.array(WireFallback) }),
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
export const analysisReply = questions.complexity
  .extend(questions.commands.shape)
  .extend(questions.decisionPoints.shape);
export const criteriaReply = questions.successCriteria.extend(questions.fallbacks.shape);
export const wholePlanReply = analysisReply.extend(criteriaReply.shape);

export type WirePlan = z.infer<typeof wholePlanReply>;

/** The wire answers as a Plan, validated: a criterion missing its field is an error here. */
export function toPlan(wire: WirePlan): Plan {
  return PlanSchema.parse({
    complexity: {
      ...wire.complexity,
      estimatedSteps: Math.max(0, Math.round(wire.complexity.estimatedSteps)),
      confidence: Math.min(1, Math.max(0, wire.complexity.confidence)),
    },
    commands: wire.commands.map(({ timeoutSeconds, ...c }) => ({
      ...c,
      ...(timeoutSeconds ? { timeoutMs: Math.round(timeoutSeconds * 1000) } : {}),
    })),
    decisionPoints: wire.decisionPoints.map(({ expected, ...d }) => ({
      ...d,
      ...(expected !== null ? { expected } : {}),
    })),
    successCriteria: wire.successCriteria.map((c) =>
      c.kind === 'file_exists'
        ? { kind: c.kind, path: c.path }
        : c.kind === 'command'
          ? { kind: c.kind, command: c.command, exitCode: c.exitCode ?? 0 }
          : { kind: c.kind, command: c.command, text: c.text },
    ),
    fallbacks: wire.fallbacks,
  });
}
