// `npm run docs` (or `npm run schema`): writes docs/events.schema.json from the zod event union and
// the generated tables of the docs (src/security/doc-tables.ts); tests check both are current.
import { readFileSync, writeFileSync } from 'node:fs';
import { eventsJsonSchema, EVENTS_SCHEMA_FILE } from '../src/events/events-schema.ts';
import { GENERATED_TABLES, withGeneratedTable } from '../src/security/doc-tables.ts';

const root = (file: string) => new URL(`../${file}`, import.meta.url);

writeFileSync(root(EVENTS_SCHEMA_FILE), `${JSON.stringify(eventsJsonSchema(), null, 2)}\n`);
for (const { file, name, table } of GENERATED_TABLES) {
  writeFileSync(root(file), withGeneratedTable(readFileSync(root(file), 'utf8'), file, name, table()));
}
