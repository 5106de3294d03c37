import { z } from 'zod';
import { SuccessCriterionSchema } from '../plan/plan-schema.ts';

/** One task of a tasks.md, as parsed. `id` is the task number ("2", "1.1"). */
export const TaskSpecSchema = z.object({
  id: z.string().regex(/^\d+(\.\d+)*$/),
  title: z.string(),
  done: z.boolean(),
  /** 1-based line of the checkbox, where the writer ticks it. */
  line: z.number().int().positive(),
  description: z.array(z.string()),
  requirements: z.array(z.string()),
  /** Explicit `Depends:`; undefined means "after the previous sibling" (see task-graph.ts). */
  depends: z.array(z.string()).optional(),
  success: z.array(SuccessCriterionSchema),
  commands: z.array(z.string()),
  parentId: z.string().optional(),
});
export type TaskSpec = z.infer<typeof TaskSpecSchema>;
