import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { analyzeCommand } from '../exec/shell-analysis.ts';
import { checkCommand } from '../exec/policy.ts';
import { overlaps } from '../exec/command-graph.ts';
import { PlanSchema, type Plan } from './plan-schema.ts';

/**
 * Whether a plan may be served without asking the LLM: it fits the schema, the policy allows every
 * command, its dependencies name real commands, and every file it reads exists in the working
 * directory or is written by an earlier command of the plan.
 */
export async function validatePlan(
  plan: Plan,
  workdir: string,
  allow: readonly string[],
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const parsed = PlanSchema.safeParse(plan);
  if (!parsed.success) return { ok: false, reason: `schema: ${parsed.error.issues[0]?.message}` };
  const ids = new Set(plan.commands.map((c) => c.id));
  const written: string[] = [];
  for (const c of plan.commands) {
    const verdict = checkCommand(c.command, allow);
    if (!verdict.allowed) return { ok: false, reason: `policy denies \`${c.command}\` (${verdict.rule})` };
    const missingDep = c.dependsOn.find((d) => !ids.has(d));
    if (missingDep) return { ok: false, reason: `command ${c.id} depends on unknown command ${missingDep}` };
    const effects = analyzeCommand(c.command);
    for (const input of effects.reads) {
      if (/[$*?]/.test(input) || written.some((w) => overlaps(w, input))) continue;
      const exists = await stat(resolve(workdir, input)).then(
        () => true,
        () => false,
      );
      if (!exists) return { ok: false, reason: `input ${input} of \`${c.command}\` does not exist` };
    }
    written.push(...effects.writes);
  }
  return { ok: true };
}
