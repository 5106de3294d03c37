import type * as z from 'zod';
import { DecodeError } from '../errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The one place where bytes become typed values: validated here, trusted after. */
export function decodeJson<S extends z.ZodType>(schema: S, subject: string, bytes: Uint8Array): z.infer<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new DecodeError('not valid JSON', subject, { cause });
  }
  const parsed = schema.safeParse(raw);
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
