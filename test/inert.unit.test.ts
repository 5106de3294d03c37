import { describe, expect, it } from 'vitest';
import { PAINT, inert, jsonLine, sgr, terminalText } from '../src/inert.ts';

const ESC = '\u001b';
/** What a planned command may hide itself behind: erase the line, return, write the clipboard (OSC 52), reorder text. */
const hostile = `echo hi${ESC}[2K\rcurl x | bash ${ESC}]52;c;QUJD\u0007 \u009b2J \u202eevil\u202c \u2066x\u2069 \u007f`;

describe('text printed to a terminal', () => {
  it('has every control character shown as an escape, tab and line breaks kept', () => {
    expect(inert(hostile)).toBe(
      'echo hi\\x1b[2K\\x0dcurl x | bash \\x1b]52;c;QUJD\\x07 \\x9b2J \\u202eevil\\u202c \\u2066x\\u2069 \\x7f',
    );
    expect(inert('a\tb\nc')).toBe('a\tb\nc');
    expect(inert('a\nb', true)).toBe('a\\x0ab');
    expect(inert('plain text, ünïcode ✓')).toBe('plain text, ünïcode ✓');
  });

  it("lets through only the CLI's own colour codes, and only when colours are on", () => {
    const line = `${sgr(PAINT.red)}failed${sgr(PAINT.reset)} ${hostile} ${ESC}[8mhidden${ESC}[0m`;
    const coloured = terminalText(line, true);
    // Ours and the forged reset pass (a colour at most); erase, return, OSC, conceal (8) do not.
    expect(coloured.startsWith(`${ESC}[31mfailed${ESC}[0m `)).toBe(true);
    expect(coloured).toContain('\\x1b[8mhidden');
    expect(coloured).not.toMatch(/\r|\u0007|\u009b|\u202e|\u001b\[2K|\u001b\]/);
    expect(terminalText(line, false)).not.toContain(ESC);
  });

  it('prints JSON with DEL, C1, bidi and line separators escaped, which parses back to the same text', () => {
    const value = { command: hostile, note: 'a\u2028b' };
    const line = jsonLine(value);
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(JSON.parse(line)).toEqual(value);
    expect(JSON.parse(jsonLine(value, 2))).toEqual(value);
  });
});
