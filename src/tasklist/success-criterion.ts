import * as z from 'zod';

/** How a task is known done: written in tasks.md or by the planner. */
export const SuccessCriterionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('file_exists'), path: z.string().min(1) }),
  z.object({ kind: z.literal('command'), command: z.string().min(1), exitCode: z.number().int().default(0) }),
  /** The output holds `text` and the command exits `exitCode`: a crash that prints the text is not success. */
  z.object({
    kind: z.literal('output_contains'),
    command: z.string().min(1),
    text: z.string(),
    exitCode: z.number().int().default(0),
  }),
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
  return outputFailure(c.command, { exitCode, output }, c.text, c.exitCode);
}

/**
 * Why a command's output check does not hold: the text missing, or the exit code not the one
 * asked for (0 unless named), as a crashing command may print the text in its error.
 */
export function outputFailure(
  command: string,
  got: { exitCode: number | null; output: string },
  text: string,
  exitCode = 0,
): string | undefined {
  if (!got.output.includes(text)) return `output of \`${command}\` does not contain "${text}"`;
  if (got.exitCode !== exitCode)
    return `\`${command}\` printed "${text}" but exited ${got.exitCode ?? 'without a code (killed)'}, expected ${exitCode}`;
  return undefined;
}

/** A criterion in words, as `verify` reports it. */
export const describeCriterion = (c: SuccessCriterion): string =>
  c.kind === 'file_exists'
    ? `file ${c.path} exists`
    : c.kind === 'command'
      ? `\`${c.command}\` exits ${c.exitCode}`
      : `output of \`${c.command}\` contains "${c.text}"${c.exitCode === 0 ? '' : ` and it exits ${c.exitCode}`}`;
