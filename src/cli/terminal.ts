import { jsonLine, terminalText } from '../inert.ts';

/** Colours only on a terminal, and not when NO_COLOR asks for none. */
export const useColour = process.stdout.isTTY && !process.env.NO_COLOR;

/**
 * Where the CLI's lines reach the terminal: every line goes through `terminalText` (control
 * characters escaped but the CLI's own colours), every JSON line through `jsonLine`.
 */
export const out = (line: string): void => void process.stdout.write(`${terminalText(line, useColour)}\n`);
export const err = (line: string): void => void process.stderr.write(`${terminalText(line, useColour)}\n`);
export const outJson = (value: unknown, space?: number): void =>
  void process.stdout.write(`${jsonLine(value, space)}\n`);
