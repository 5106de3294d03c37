import * as z from 'zod';

/**
 * Kiro's `## Task Dependency Graph`: a fenced JSON block `{"waves": [{"id": 0, "tasks": ["1.1"]}]}`
 * (`wave` instead of `id`, numbers instead of strings, and a description are seen too). Waves run
 * in order; the tasks of one wave may run side by side.
 */
const WavesSchema = z.object({
  waves: z.array(
    z.looseObject({
      id: z.union([z.number(), z.string()]).optional(),
      wave: z.union([z.number(), z.string()]).optional(),
      tasks: z.array(z.union([z.string(), z.number()]).transform(String)),
    }),
  ),
});

export type DependencyWaves = { line: number; waves: string[][] };

/** Reads a JSON block; `undefined` when it is not a waves block, an Error when it is a broken one. */
export function readWaves(body: string): string[][] | undefined | Error {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return /"waves"\s*:/.test(body)
      ? new Error(`dependency waves block is not valid JSON: ${(error as Error).message}`)
      : undefined;
  }
  if (typeof value !== 'object' || value === null || !('waves' in value)) return undefined;
  const parsed = WavesSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return new Error(
      `dependency waves block has the wrong shape at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  return parsed.data.waves.map((w) => w.tasks.map((t) => t.trim().replace(/\.$/, '')));
}

/**
 * The `Depends:` the waves imply, for tasks that have none of their own: a task of wave k waits
 * for the tasks of wave k-1 (and so, transitively, for every earlier wave), never for its own
 * ancestors or descendants. A task the waves leave out but whose subtasks they list is a heading:
 * it waits for nothing, its subtasks carry the order.
 */
export function dependsFromWaves(
  waves: string[][],
  tasks: readonly { id: string; parentId?: string | undefined }[],
): Map<string, string[]> {
  const parentOf = new Map(tasks.map((t) => [t.id, t.parentId]));
  const ancestors = (id: string) => {
    const out = new Set<string>();
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p)) out.add(p);
    return out;
  };
  const related = (a: string, b: string) => ancestors(a).has(b) || ancestors(b).has(a);
  const out = new Map<string, string[]>();
  waves.forEach((wave, k) => {
    const previous = k > 0 ? waves[k - 1]! : [];
    for (const id of wave)
      out.set(
        id,
        previous.filter((dep) => dep !== id && !related(id, dep)),
      );
  });
  const listed = new Set(waves.flat());
  for (const id of listed) for (const a of ancestors(id)) if (!listed.has(a) && !out.has(a)) out.set(a, []);
  return out;
}
