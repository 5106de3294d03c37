/**
 * Text from a task list, an LLM, a command's output or a file name, printed to a terminal, must
 * be shown, never obeyed: an escape sequence in a planned command (`\e[2K\r`) can hide it behind a
 * harmless line, OSC 52 writes the clipboard, a bidi override shows text in another order. Every
 * such character is shown as an escape instead. Pure, and imported by every layer that prints.
 */

/** C0 but tab and newline, DEL, C1, and the bidi embeddings, overrides and isolates. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** The same, and newline too: for text that must stay on one line. */
const CONTROL_OR_NEWLINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escaped = (c: string) => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `text` with every control character escaped; newlines kept unless `oneLine`. */
export function inert(text: string, oneLine = false): string {
  return text.replace(oneLine ? CONTROL_OR_NEWLINE : CONTROL, escaped);
}

/** The colours the CLI paints with (SGR codes): on a colour terminal these, and only these, pass. */
export const PAINT = { green: '32', red: '31', yellow: '33', dim: '2', bold: '1', reset: '0' } as const;
export const sgr = (code: string) => `\u001b[${code}m`;
const OWN_COLOURS = new RegExp(
  `(${Object.values(PAINT)
    .map((c) => `\\u001b\\[${c}m`)
    .join('|')})`,
);

/**
 * A line (or lines) as it reaches the terminal: every control character escaped but the fixed
 * colour codes of `PAINT` when colours are on. A forged one of those can change a colour, never
 * move the cursor, erase, hide text or reach the clipboard.
 */
export function terminalText(text: string, colour: boolean): string {
  if (!colour) return inert(text);
  return text
    .split(OWN_COLOURS)
    .map((part, i) => (i % 2 === 1 ? part : inert(part)))
    .join('');
}

/** JSON as printed: JSON.stringify escapes C0 only, so DEL, C1, bidi and the line separators are escaped too (still valid JSON). */
export function jsonLine(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) =>
    escapedJson(c),
  );
}

const escapedJson = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
