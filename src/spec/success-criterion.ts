import { z } from 'zod';

/** How a task is known done: written in tasks.md or by the planner. */
export const SuccessCriterionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('file_exists'), path: z.string().min(1) }),
  z.object({ kind: z.literal('command'), command: z.string().min(1), exitCode: z.number().int().default(0) }),
  z.object({ kind: z.literal('output_contains'), command: z.string().min(1), text: z.string() }),
]);
export type SuccessCriterion = z.infer<typeof SuccessCriterionSchema>;
