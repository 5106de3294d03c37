import * as z from 'zod';

/**
 * What a recovery strategy does to the machine beyond the failed command itself. Declared per
 * strategy in the pattern file; the ones a user did not ask for (network installs, killing
 * processes, system changes) are off until `recovery.allow` lists them.
 */
export const STRATEGY_EFFECTS = {
  'creates-paths': 'creates files or folders in the working directory',
  'edits-files': 'changes or replaces existing files in the working directory',
  deletes: 'deletes files in the working directory',
  'changes-git': 'changes git state or git configuration',
  'installs-local': 'installs the project’s declared dependencies from disk only (no network)',
  'installs-network': 'downloads and installs packages from the network',
  'kills-processes': 'stops processes',
  system: 'changes the system outside the project (needs root)',
} as const;

export type StrategyEffect = keyof typeof STRATEGY_EFFECTS;
const EFFECT_NAMES = Object.keys(STRATEGY_EFFECTS) as [StrategyEffect, ...StrategyEffect[]];
export const StrategyEffectSchema = z.enum(EFFECT_NAMES, {
  error: (issue) => `unknown strategy effect ${JSON.stringify(issue.input)}; known effects: ${EFFECT_NAMES.join(', ')}`,
});

/** Effects a strategy may have only when the configuration allows them. */
const OFF_BY_DEFAULT: readonly StrategyEffect[] = ['installs-network', 'kills-processes', 'system'];

/** The effects of `effects` that `allow` does not permit. */
export function forbiddenEffects(
  effects: readonly StrategyEffect[],
  allow: readonly StrategyEffect[],
): StrategyEffect[] {
  return effects.filter((e) => OFF_BY_DEFAULT.includes(e) && !allow.includes(e));
}
