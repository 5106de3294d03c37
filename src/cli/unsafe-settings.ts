import { homedir } from 'node:os';
import type { Config } from '../config.ts';
import type { Weakening } from '../events/agent-events.ts';
import { confinementNotice } from '../exec/netns.ts';
import { probeBwrap } from '../exec/sandbox.ts';
import { weakeningLine, weakeningSettings } from '../weakenings.ts';
import { colours } from './progress.ts';
import { err } from './terminal.ts';

/** The settings that weaken confinement in this configuration, here. */
export async function findWeakenings(config: Config, file: string, cwd: string): Promise<Weakening[]> {
  const bwrapProblem = config.sandbox.mode === 'auto' ? await probeBwrap() : undefined;
  return weakeningSettings(config, { file, home: homedir(), cwd, bwrapProblem });
}

/**
 * The first lines of a run: each setting that weakens confinement, then the network commands get,
 * unless a weakening already said it (sandbox.mode "none", sandbox.network "host").
 */
export function sayConfinement(config: Config, weakened: readonly Weakening[]): void {
  for (const w of weakened) err(colours.yellow(weakeningLine(w)));
  if (!weakened.some((w) => w.setting === 'sandbox.mode' || w.setting === 'sandbox.network'))
    err(confinementNotice(config.sandbox));
}
