import type * as z from 'zod';
import { DecodeError } from '../errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Zod compiles a fast parser for an object schema the first time it parses with it, and the
 * compiling costs more than interpreting a few hundred values: a one-task run parses each event
 * type a handful of times, so compiling was a tenth of its CPU time. A schema is therefore
 * interpreted for its first parses and compiled after them, as a JIT tiers up.
 */
const INTERPRETED_PARSES = 200;
const parsesSoFar = new WeakMap<z.ZodType, number>();
const INTERPRETED = { jitless: true } as const;

function parseContext(schema: z.ZodType): typeof INTERPRETED | undefined {
  const n = parsesSoFar.get(schema) ?? 0;
  if (n >= INTERPRETED_PARSES) return undefined;
  parsesSoFar.set(schema, n + 1);
  return INTERPRETED;
}

/** `schema.safeParse`, interpreted while the schema is cold (see INTERPRETED_PARSES). */
export function safeParse<S extends z.ZodType>(schema: S, value: unknown): z.ZodSafeParseResult<z.infer<S>> {
  return schema.safeParse(value, parseContext(schema));
}

/** `schema.parse` (throws the ZodError), interpreted while the schema is cold. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  return schema.parse(value, parseContext(schema));
}

/** The one place where bytes become typed values: validated here, trusted after. */
export function decodeJson<S extends z.ZodType>(schema: S, subject: string, bytes: Uint8Array): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new DecodeError('not valid JSON', subject, { cause });
  }
  const parsed = safeParse(schema, raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DecodeError(`${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`, subject, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}
