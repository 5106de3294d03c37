import * as z from 'zod';

/** A run's id: a valid NATS subject token (newRunId makes them). */
export const RunIdSchema = z.string().regex(/^[A-Za-z0-9_-]+$/, 'a run id is letters, digits, _ and -');

const envelope = {
  id: z.string().min(1),
  v: z.literal(1),
  runId: RunIdSchema,
  taskId: z.string().optional(),
  /** ISO-8601 time the event was made. */
  at: z.string(),
  causationId: z.string().optional(),
};

/**
 * One line of what each event records, for the docs' event table. A registry of its own, not a
 * `.describe()`: a described schema would no longer merge with `seq` into one JSON Schema object.
 */
export const eventRecords = z.registry<{ records: string }>();

/** An event's schema: the envelope every event shares, its literal type and its data. */
export function defineEvent<T extends string, D extends z.ZodType>(type: T, records: string, data: D) {
  return z.object({ ...envelope, type: z.literal(type), data }).register(eventRecords, { records });
}
