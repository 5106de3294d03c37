import { ConfigSchema, type Config } from './config.ts';
import type { Weakening } from './events/agent-events.ts';
import { DEFAULT_RULES } from './exec/policy.ts';
import { writablePaths } from './exec/sandbox.ts';

/** Where the settings came from, and what the machine allows: all the function needs besides the config. */
export type SettingsOrigin = {
  /** The configuration file read (it may not exist: then every setting is a default). */
  file: string;
  /** The user's home, for `~/...` entries. */
  home: string;
  /** The current folder, for relative entries. */
  cwd: string;
  /** Why bubblewrap does not work here, when it was probed and does not: `auto` falls back to none. */
  bwrapProblem?: string | undefined;
};

let defaults: Config | undefined;
const UNCONFINED = 'commands run unconfined: they may write wherever this user can, only the deny list stands';

/**
 * Every setting in force that weakens how commands are confined, one entry each, saying where it
 * came from: printed on the first lines of every run and recorded in its RunStarted, so that a
 * configuration a task could have written never takes effect unsaid.
 */
export function weakeningSettings(config: Config, origin: SettingsOrigin): Weakening[] {
  defaults ??= ConfigSchema.parse({});
  const source = (value: unknown, byDefault: unknown) =>
    JSON.stringify(value) === JSON.stringify(byDefault) ? 'the default' : `set in ${origin.file}`;
  const { sandbox } = config;
  const out: Weakening[] = [];
  if (sandbox.mode === 'none')
    out.push({ setting: 'sandbox.mode', value: '"none"', source: `set in ${origin.file}`, effect: UNCONFINED });
  else if (sandbox.mode === 'auto' && origin.bwrapProblem !== undefined)
    out.push({
      setting: 'sandbox.mode',
      value: '"auto", fallen back to none',
      source: `bubblewrap does not work here: ${origin.bwrapProblem}`,
      effect: UNCONFINED,
    });
  const confined = out.length === 0;
  if (confined && sandbox.network === 'host')
    out.push({
      setting: 'sandbox.network',
      value: '"host"',
      source: source(sandbox.network, defaults.sandbox.network),
      effect:
        "commands share the host's network: they reach every service on its loopback, this run's NATS server among them",
    });
  for (const id of config.policy.allow) {
    const rule = DEFAULT_RULES.find((r) => r.id === id);
    out.push({
      setting: 'policy.allow',
      value: JSON.stringify(id),
      source: `set in ${origin.file}`,
      effect: `a command that ${rule?.reason ?? 'the rule denies'} is no longer denied`,
    });
  }
  if (!confined) return out;
  const fromFile = (setting: string, listed: readonly string[], effect: (path: string) => string) =>
    listed.forEach((entry) =>
      out.push({
        setting,
        value: JSON.stringify(entry),
        source: `set in ${origin.file}`,
        effect: effect(writablePaths([entry], origin.home, origin.cwd)[0]!),
      }),
    );
  fromFile('sandbox.writable', sandbox.writable, (p) => `commands may write ${p}`);
  fromFile(
    'sandbox.readable',
    sandbox.readable.filter((e) => inHome(e, origin.home)),
    (p) => `commands may read ${p}`,
  );
  fromFile('sandbox.sockets', sandbox.sockets, (p) => `commands may connect to ${p}`);
  return out;
}

/** An entry under a home folder (`~/...`, /root, /home/<x>, the user's own): its files are otherwise hidden. */
function inHome(entry: string, home: string): boolean {
  if (entry === '~' || entry.startsWith('~/')) return true;
  return ['/root', '/home', home].some((h) => entry === h || entry.startsWith(`${h}/`));
}

/** How a weakening is said on a run's first lines. */
export const weakeningLine = (w: Weakening) => `unsafe: ${w.setting} ${w.value} (${w.source}): ${w.effect}`;
