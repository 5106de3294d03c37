import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/nats.ts';

const SRC = join(REPO_ROOT, 'src');
const MAX_FUNCTION_LINES = 80;
const MAX_FILE_LINES = 400;

const sources = () =>
  readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));

/** A function starts at a declaration at the top or one level in, and ends at the brace closing at its indent. */
const START =
  /^( {0,2})(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\s*\*?\s*(\w+)|(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?(?:\([^)]*\)|\w+)?\s*(?::[^=]+)?=>|(?:private\s+|static\s+|public\s+)*(?:async\s+)?(\w+)\s*(?:<[^>]*>)?\([^;]*$)/;

/** `file: name (lines)` for every function of `text` longer than the limit. */
export function longFunctions(file: string, text: string): string[] {
  const lines = text.split('\n');
  const found: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = START.exec(lines[i]!);
    // A declaration that opens a block (or a parameter list) here; a one-line arrow has no body to measure.
    if (!m || !/[{(]\s*$/.test(lines[i]!)) continue;
    const indent = m[1]!;
    const name = m[2] ?? m[3] ?? m[4]!;
    if (['if', 'for', 'while', 'switch', 'catch', 'return'].includes(name)) continue;
    const end = lines.findIndex((l, j) => j > i && new RegExp(`^${indent}[}\\)][;,)]*\\s*$`).test(l));
    if (end < 0) continue;
    const length = end - i + 1;
    if (length > MAX_FUNCTION_LINES) found.push(`${file}: ${name} (${length})`);
  }
  return found;
}

describe('code size', () => {
  it(`no file in src/ over ${MAX_FILE_LINES} lines`, () => {
    const over = sources()
      .filter((f) => readFileSync(f, 'utf8').split('\n').length > MAX_FILE_LINES)
      .map((f) => relative(SRC, f));
    expect(over).toEqual([]);
  });

  it(`no function in src/ over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(sources().flatMap((f) => longFunctions(relative(SRC, f), readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('measures a function from its declaration to the brace at its indent', () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, () => '  x++;').join('\n');
    expect(longFunctions('a.ts', `export function big() {\n${body}\n}\nfunction small() {\n}\n`)).toEqual([
      `a.ts: big (${MAX_FUNCTION_LINES + 2})`,
    ]);
  });
});
