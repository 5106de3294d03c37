import { z } from 'zod';
import { SuccessCriterionSchema } from './success-criterion.ts';

/** A task number as written (`1`, `2.3`), a Spec Kit id (`T012`), or `L<line>` for an unnumbered checkbox. */
export const TASK_ID = /^(\d+(\.\d+)*|T\d+|L\d+)$/;
/** What a `Depends:` may name: a task number or a Spec Kit id. */
export const DEPENDABLE_ID = /^(\d+(\.\d+)*|T\d+)$/;

/**
 * One task of a tasks.md, as parsed. `id` is the task number ("2", "1.1") or Spec Kit id
 * ("T012"), or `L<line>` for a checkbox written without one.
 */
export const TaskSpecSchema = z.object({
  id: z.string().regex(TASK_ID),
  title: z.string(),
  done: z.boolean(),
  /** `[ ]*`: optional (run by default; `--skip-optional` records it skipped). */
  optional: z.boolean().default(false),
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

/** How a task is named to a person: `2.1. Title` for a number, `T012 Title` for an id (as written). */
export const taskLabel = (id: string | undefined, title = ''): string => `${id ?? ''}${/^\d/.test(id ?? '') ? '.' : ''} ${title}`.trim();
