import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { positionAt, valueOffsets } from '../src/json-positions.ts';

/** Every path of a parsed value, as valueOffsets names them. */
function paths(value: unknown, at = ''): [string, unknown][] {
  const own: [string, unknown][] = [[at, value]];
  if (Array.isArray(value)) return [...own, ...value.flatMap((v, i) => paths(v, `${at}/${i}`))];
  if (typeof value === 'object' && value !== null)
    return [...own, ...Object.entries(value).flatMap(([k, v]) => paths(v, `${at}/${k}`))];
  return own;
}

describe('positions in a JSON text', () => {
  it('finds where every value starts, however the text is indented', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().filter((v) => !JSON.stringify(v).includes('/')),
        fc.constantFrom(0, 2, '\t'),
        (value, indent) => {
          const text = JSON.stringify(value, null, indent);
          const offsets = valueOffsets(text);
          for (const [path, v] of paths(JSON.parse(text))) {
            const offset = offsets.get(path);
            expect(offset, path).toBeDefined();
            const json = JSON.stringify(v);
            // A container's first character; a primitive whole.
            const expected = typeof v === 'object' && v !== null ? json[0] : json;
            expect(text.slice(offset, offset! + expected!.length), path).toBe(expected);
          }
        },
      ),
    );
  });

  it('counts lines and columns from 1', () => {
    expect(positionAt('{\n  "a": 1\n}', 9)).toEqual({ line: 2, column: 8 });
    expect(positionAt('x', 0)).toEqual({ line: 1, column: 1 });
  });
});
