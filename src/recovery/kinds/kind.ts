import type { RecoverRequest } from '../../events/work-commands.ts';
import { shellQuote } from '../placeholders.ts';
import type { Probe } from './probe.ts';

/**
 * A strategy per kind of mistake: not one tool's one message, but a mistake many tools make the
 * same way (a search path not set, a setup step not done, the wrong program for the file, ...).
 * It reads the failure and the working directory and proposes one fix, or none when the fix is
 * not unambiguous. Pure but for the probe's reads.
 */
export type KindFix = {
  /** The kind (`search-path`) and the variant (`include-dir`): the strategy id is `kind-<kind>/<variant>`. */
  kind: string;
  variant: string;
  diagnosis: string;
  commands: string[];
  /** Run the failed command again after `commands` (a preparation), or not (the last command does its work). */
  retry: boolean;
};
export type KindStrategy = (request: RecoverRequest, probe: Probe) => KindFix | undefined;

export const outputOf = (r: Pick<RecoverRequest, 'stdoutTail' | 'stderrTail'>) => `${r.stderrTail}\n${r.stdoutTail}`;
export const q = shellQuote;

/** Where a program is invoked in a command line: at its start, or after `;`, `&&`, `||`, `|`, `(`, env assignments. */
const AT_COMMAND = String.raw`(^|[;&|(]\s*|^\s*)((?:[A-Za-z_]\w*=\S*\s+)*)`;

/** The first invocation of a program matching `program` (a regex source for the word), or undefined. */
export function findInvocation(
  command: string,
  program: string,
): { index: number; prefix: string; word: string } | undefined {
  const m = new RegExp(`${AT_COMMAND}((?:\\S*/)?(?:${program}))(?=\\s|$)`).exec(command);
  if (!m) return undefined;
  return { index: m.index + m[1]!.length + m[2]!.length, prefix: m[2]!, word: m[3]! };
}

/** The command with `arg` put right after the program's word (`gcc -Iinclude -c main.c`). */
export function withArgument(command: string, program: string, arg: string): string | undefined {
  const at = findInvocation(command, program);
  if (!at) return undefined;
  const end = at.index + at.word.length;
  return `${command.slice(0, end)} ${arg}${command.slice(end)}`;
}

/** The command with `NAME=value` put before the program (`PYTHONPATH=src python3 main.py`). */
export function withEnvironment(command: string, program: string, name: string, value: string): string | undefined {
  const at = findInvocation(command, program);
  if (!at) return undefined;
  return `${command.slice(0, at.index)}${name}=${q(value)} ${command.slice(at.index)}`;
}

/** The command with the program's word replaced (`g++` for `gcc`). */
export function withProgram(command: string, program: string, replacement: string): string | undefined {
  const at = findInvocation(command, program);
  if (!at) return undefined;
  return `${command.slice(0, at.index)}${replacement}${command.slice(at.index + at.word.length)}`;
}

/** The words after a program's invocation, up to the end of its simple command. */
export function argumentsOf(command: string, program: string): string[] {
  const at = findInvocation(command, program);
  if (!at) return [];
  const rest = command.slice(at.index + at.word.length);
  const end = rest.search(/[;&|<>]|\|\||&&/);
  return (end < 0 ? rest : rest.slice(0, end)).trim().split(/\s+/).filter(Boolean);
}

/** The folder a file lies in, given the path the tool asked for and where it was found. */
export function folderOf(found: string, asked: string): string {
  return found.slice(0, found.length - asked.length).replace(/\/$/, '');
}

export const unique = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
