import * as z from 'zod';

/** How a task is known done: written in tasks.md or by the planner. */
export const SuccessCriterionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('file_exists'), path: z.string().min(1) }),
  z.object({ kind: z.literal('command'), command: z.string().min(1), exitCode: z.number().int().default(0) }),
  z.object({ kind: z.literal('output_contains'), command: z.string().min(1), text: z.string() }),
]);
export type SuccessCriterion = z.infer<typeof SuccessCriterionSchema>;

/** How a criterion is checked: a command's exit code and output, a file's existence. */
export type CriterionProbe = {
  run(command: string): Promise<{ exitCode: number | null; output: string }>;
  exists(path: string): Promise<boolean>;
};

/** Why a criterion does not hold now, or undefined when it holds (the executor and `verify` both check with it). */
export async function criterionFailure(c: SuccessCriterion, probe: CriterionProbe): Promise<string | undefined> {
  if (c.kind === 'file_exists') return (await probe.exists(c.path)) ? undefined : `file ${c.path} does not exist`;
  const { exitCode, output } = await probe.run(c.command);
  if (c.kind === 'command')
    return exitCode === c.exitCode ? undefined : `\`${c.command}\` exited ${exitCode}, expected ${c.exitCode}`;
  return output.includes(c.text) ? undefined : `output of \`${c.command}\` does not contain "${c.text}"`;
}

/** A criterion in words, as `verify` reports it. */
export const describeCriterion = (c: SuccessCriterion): string =>
  c.kind === 'file_exists'
    ? `file ${c.path} exists`
    : c.kind === 'command'
      ? `\`${c.command}\` exits ${c.exitCode}`
      : `output of \`${c.command}\` contains "${c.text}"`;
