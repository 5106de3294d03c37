import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentEventTypes } from '../../src/events/agent-events.ts';
import { GENERATED_TABLES, eventsTable, withGeneratedTable } from '../../src/security/doc-tables.ts';
import { InputError } from '../../src/errors.ts';
import { REPO_ROOT } from '../helpers/nats.ts';

describe('the generated tables of the docs', () => {
  for (const { file, name, table } of GENERATED_TABLES) {
    it(`${file} holds the ${name} table as the code makes it`, () => {
      const page = readFileSync(join(REPO_ROOT, file), 'utf8');
      expect(page, 'regenerate it: npm run docs').toBe(withGeneratedTable(page, file, name, table()));
    });
  }

  it('gives every event type a row with who may append it and what it records', () => {
    const rows = eventsTable().split('\n').slice(2);
    expect(rows.map((r) => /^\| `(\w+)` \|/.exec(r)?.[1])).toEqual(agentEventTypes);
    for (const row of rows)
      expect(row, row).toMatch(/^\| `\w+` \| `[\w-]+`.* \| `agent\.events\.\*\.\*\.\w+` \| [^|\s][^|]* \|$/);
  });

  it('replaces only what is between the markers, and names the page whose markers are missing', () => {
    const page = 'before\n<!-- generated: t -->\n\nold\n\n<!-- end -->\nafter\n';
    expect(withGeneratedTable(page, 'x.md', 't', 'new')).toBe(
      'before\n<!-- generated: t -->\n\nnew\n\n<!-- end -->\nafter\n',
    );
    expect(() => withGeneratedTable('no markers', 'docs/x.md', 't', 'new')).toThrow(InputError);
    expect(() => withGeneratedTable('no markers', 'docs/x.md', 't', 'new')).toThrow(
      /docs\/x\.md: no "<!-- generated: t -->"/,
    );
  });
});
