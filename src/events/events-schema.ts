import * as z from 'zod';
import { AgentEventSchema } from './agent-events.ts';

/** Where the schema of the `--json` event stream is kept, generated from the event union (`npm run docs`). */
export const EVENTS_SCHEMA_FILE = 'docs/events.schema.json';

/**
 * The JSON Schema of one line of `run --json` / `resume --json` / `watch --json`: an event of the
 * union as stored, with its stream sequence. Its version is the envelope's `v`: a change that
 * breaks a reader makes a new `v`, and this schema names the ones it describes.
 */
export function eventsJsonSchema(): Record<string, unknown> {
  const line = z.intersection(AgentEventSchema, z.object({ seq: z.number().int().positive() }));
  const schema = z.toJSONSchema(line, { io: 'output', unrepresentable: 'any' });
  return {
    ...schema,
    $id: 'https://github.com/implement-agent/implement-agent/docs/events.schema.json',
    title: 'implement-agent event (one line of --json), v1',
  };
}
