import * as z from 'zod';
import { SuccessCriterionSchema } from './success-criterion.ts';

/**
 * A task number as written (`1`, `2.3`, `14a`), a Spec Kit id (`T012`), either with `@L<line>`
 * when the number was used before in the file, or `L<line>` for an unnumbered checkbox.
 */
const TASK_ID = /^((\d+[a-z]?(\.\d+[a-z]?)*|T\d+)(@L\d+)?|L\d+)$/;
/** A site's name (`Site:`, `--site`): one NATS subject token, so its queue and its events are subjects of its own. */
export const SITE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** What a `Depends:` may name: a task number or a Spec Kit id (`@L<line>` for a number used twice). */
export const DEPENDABLE_ID = /^(\d+[a-z]?(\.\d+[a-z]?)*|T\d+)(@L\d+)?$/;
/** The id of a task whose number (or id) was used before, at line `line`. */
export const repeatedId = (number: string, line: number) => `${number}@L${line}`;

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
  /** Criteria in words (`Success: all text renders`): given to the planner to turn into checks. */
  criteria: z.array(z.string()).default([]),
  commands: z.array(z.string()),
  /** `Site: NAME`: only that site runs it; `Needs: gpu, db`: only a site with those labels. */
  site: z.string().optional(),
  needs: z.array(z.string()).optional(),
  parentId: z.string().optional(),
});
export type TaskSpec = z.infer<typeof TaskSpecSchema>;

/** How a task is named to a person: `2.1. Title` for a number, `T012 Title` for an id (as written). */
export const taskLabel = (id: string | undefined, title = ''): string =>
  `${id ?? ''}${/^\d/.test(id ?? '') ? '.' : ''} ${title}`.trim();
