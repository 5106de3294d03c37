import type { Config } from '../config.ts';
import { runOptionList } from '../events/run-option-table.ts';
import type { RunOptions } from '../events/run-options.ts';
import type { RunFlags } from './run-flags.ts';

/**
 * The options a run records, from the run option table: an option with a configuration key takes
 * the configuration's value (which its flag overrode), the others the flag's.
 */
export function recordedOptions(config: Config, flags: RunFlags): Omit<RunOptions, 'pricing' | 'ownFiles'> {
  const options: Record<string, unknown> = {};
  for (const [name, decl] of runOptionList()) {
    if (decl.recorded === undefined) continue;
    const [section, key] = decl.config?.split('.') ?? [];
    const value =
      section !== undefined
        ? (config as unknown as Record<string, Record<string, unknown>>)[section]![key!]
        : flags[name];
    if (value !== undefined) options[name] = value;
    else if (typeof decl.recorded === 'object') options[name] = decl.recorded.olderRecords;
  }
  return options as Omit<RunOptions, 'pricing' | 'ownFiles'>;
}
