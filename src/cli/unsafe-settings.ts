import { homedir } from 'node:os';
import type { Config } from '../config.ts';
import type { Weakening } from '../events/agent-events.ts';
import { probeBwrap } from '../exec/sandbox.ts';
import { weakeningLine, weakeningSettings } from '../weakenings.ts';
import { colours } from './progress.ts';

/** The settings that weaken confinement, each on a line of its own before anything else the run says. */
export async function sayWeakenings(config: Config, file: string, cwd: string): Promise<Weakening[]> {
  const bwrapProblem = config.sandbox.mode === 'auto' ? await probeBwrap() : undefined;
  const weakened = weakeningSettings(config, { file, home: homedir(), cwd, bwrapProblem });
  for (const w of weakened) process.stderr.write(`${colours.yellow(weakeningLine(w))}\n`);
  return weakened;
}
