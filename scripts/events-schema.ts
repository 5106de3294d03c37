// `npm run schema`: writes docs/events.schema.json from the zod event union (a test checks it is current).
import { writeFileSync } from 'node:fs';
import { eventsJsonSchema, EVENTS_SCHEMA_FILE } from '../src/events/events-schema.ts';

writeFileSync(new URL(`../${EVENTS_SCHEMA_FILE}`, import.meta.url), `${JSON.stringify(eventsJsonSchema(), null, 2)}\n`);
