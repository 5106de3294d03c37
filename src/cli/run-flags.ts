import { CONCURRENCY_SPLIT } from '../config-renames.ts';
import { InputError } from '../errors.ts';
import { runOptionList, type OptionValue, type RunFlagValues, type RunOptionDecl } from '../events/run-option-table.ts';
import { parseBudget } from '../llm/cost.ts';
import { oneOf, parse, positiveInt, wholeNumber, type ArgOptions } from './args.ts';

export type RunFlags = RunFlagValues & { tasksFile: string };

/** `implement-agent run`'s words, read with the run option table. */
export function parseRunFlags(args: string[]): RunFlags {
  const options: ArgOptions = { concurrency: { type: 'string' } };
  for (const [, decl] of runOptionList())
    options[decl.flag] = { type: decl.value.kind === 'switch' || decl.value.kind === 'ids' ? 'boolean' : 'string' };
  const { values, positionals } = parse(args, options);
  if (values.concurrency !== undefined) throw new InputError(CONCURRENCY_SPLIT.flag);
  // `run tasks.md --replan 2 3`: the words after the list are the tasks to plan anew.
  const takesIds = runOptionList().some(([, d]) => d.value.kind === 'ids' && values[d.flag] === true);
  if (positionals.length !== 1 && !(takesIds && positionals.length > 1))
    throw new InputError('run takes exactly one tasks.md path (and, after --replan, task ids)');
  const flags: Record<string, unknown> = { tasksFile: positionals[0]! };
  for (const [name, decl] of runOptionList()) {
    const given = values[decl.flag];
    if (given === undefined || given === false) continue;
    flags[name] = flagValue(decl, given, positionals.slice(1));
  }
  return flags as RunFlags;
}

function flagValue(decl: RunOptionDecl, given: string | boolean | (string | boolean)[], ids: string[]): unknown {
  const value: OptionValue = decl.value;
  const flag = `--${decl.flag}`;
  switch (value.kind) {
    case 'switch':
      return true;
    case 'ids':
      return ids;
    case 'count':
      return value.min === 0 ? wholeNumber(given as string, flag) : positiveInt(given as string, flag);
    case 'choice':
      if (!value.choices.includes(given as string))
        throw new InputError(`${flag} must be ${oneOf(value.choices)}, not "${given as string}"`);
      return given;
    case 'budget':
      return parseBudget(given as string);
    case 'text':
      return given;
  }
}
