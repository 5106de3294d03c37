import { AgentEventSchema } from '../events/agent-events.ts';
import { eventRecords } from '../events/event-envelope.ts';
import { eventSubjects } from '../events/subjects.ts';
import { InputError } from '../errors.ts';
import { publishersOf, rolesTable, SITE_EVENTS, siteUser } from './roles.ts';

/**
 * The tables of the docs that are made from the code (`npm run docs` writes them, a test checks
 * they are current), each between `<!-- generated: <name> -->` and `<!-- end -->` in its page.
 */
export const GENERATED_TABLES = [
  { file: 'docs/access-control.md', name: 'roles', table: rolesTable },
  { file: 'docs/architecture.md', name: 'events', table: eventsTable },
] as const;

/** Every event type: the roles that may append it, its subject across runs, what it records. */
export function eventsTable(): string {
  const rows = AgentEventSchema.options.map((o) => {
    const type = o.shape.type.value;
    const site = (SITE_EVENTS as readonly string[]).includes(type) ? [siteUser('NAME')] : [];
    const roles = [...publishersOf(type), ...site].map((r) => `\`${r}\``);
    return `| \`${type}\` | ${roles.join(', ')} | \`${eventSubjects.type(type)}\` | ${eventRecords.get(o)?.records ?? ''} |`;
  });
  return ['| event | who may append it | subject | what it records |', '|---|---|---|---|', ...rows].join('\n');
}

/** `page` with the text between the markers of table `name` replaced by `table`. */
export function withGeneratedTable(page: string, file: string, name: string, table: string): string {
  const start = `<!-- generated: ${name} -->`;
  const from = page.indexOf(start);
  const to = from < 0 ? -1 : page.indexOf('<!-- end -->', from);
  if (to < 0) throw new InputError(`no "${start}" … "<!-- end -->" markers for the ${name} table`, { file });
  return `${page.slice(0, from)}${start}\n\n${table}\n\n${page.slice(to)}`;
}
