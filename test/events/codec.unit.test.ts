import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DecodeError } from '../../src/errors.ts';
import { decodeJson, encodeJson, parse } from '../../src/events/codec.ts';

describe('codec: a schema is interpreted while cold and compiled once warm, with the same verdicts', () => {
  it('accepts and rejects alike before and after the switch', () => {
    const schema = z.object({ n: z.number().int(), tag: z.enum(['a', 'b']), nested: z.object({ s: z.string() }) });
    const good = (n: number) => ({ n, tag: n % 2 ? 'a' : 'b', nested: { s: `v${n}` }, extra: 'dropped' });
    const bad = (n: number) => ({ n: n + 0.5, tag: 'a', nested: { s: 'x' } });
    // Far past the interpreted parses, so that both tiers are exercised.
    for (let i = 0; i < 600; i++) {
      expect(decodeJson(schema, 'test.subject', encodeJson(good(i)))).toEqual({
        n: i,
        tag: i % 2 ? 'a' : 'b',
        nested: { s: `v${i}` },
      });
      expect(() => decodeJson(schema, 'test.subject', encodeJson(bad(i)))).toThrow(DecodeError);
      expect(() => parse(schema, { ...good(i), nested: { s: 1 } })).toThrow(/nested/);
    }
  });
});
