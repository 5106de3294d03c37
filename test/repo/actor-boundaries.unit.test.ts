import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/nats.ts';

/**
 * Actors describe, the host does: an actor's folder imports no client of NATS, the file system,
 * child processes or the LLM, and only types from the host. Folders listed here still do; each
 * is taken off the list once it no longer does.
 */
const PENDING: string[] = [];

const ACTORS = join(REPO_ROOT, 'src', 'actors');
const SRC = join(REPO_ROOT, 'src');

/** Packages that do I/O. */
const IO_PACKAGES =
  /^(nats|@nats-io\/.*|node:fs|node:fs\/promises|fs|fs\/promises|node:child_process|child_process|execa|openai(\/.*)?)$/;
/** Modules of src/ that open NATS or call the LLM. */
const IO_MODULES = [/^nats\//, /^llm\/client\.ts$/, /^host\/llm-calls\.ts$/];

type Import = { specifier: string; typeOnly: boolean };

function importsOf(text: string): Import[] {
  const found = [...text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gm)].map((m) => ({
    specifier: m[3]!,
    typeOnly: m[2] !== undefined,
  }));
  const dynamic = [...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => ({ specifier: m[1]!, typeOnly: false }));
  return [...found, ...dynamic];
}

/** Why each import of an actor folder's file crosses the line, as `file: specifier (why)`. */
function crossings(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ACTORS, folder), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    for (const { specifier, typeOnly } of importsOf(readFileSync(file, 'utf8'))) {
      const where = `${relative(SRC, file)}: ${specifier}`;
      if (!specifier.startsWith('.')) {
        if (IO_PACKAGES.test(specifier)) out.push(`${where} (does I/O)`);
        continue;
      }
      const target = relative(SRC, resolve(dirname(file), specifier));
      if (IO_MODULES.some((m) => m.test(target))) out.push(`${where} (opens NATS or calls the LLM)`);
      else if (target.startsWith('host/') && !typeOnly) out.push(`${where} (a value of the host)`);
    }
  }
  return out;
}

const folders = readdirSync(ACTORS, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

describe('actor folders', () => {
  it.each(folders.filter((f) => !PENDING.includes(f)))(
    'src/actors/%s imports no NATS, node:fs, node:child_process, execa, openai or LLM client, and only types from the host',
    (folder) => {
      expect(crossings(folder)).toEqual([]);
    },
  );

  it.each(PENDING)('src/actors/%s is still pending (take it off PENDING once it crosses no line)', (folder) => {
    expect(crossings(folder)).not.toEqual([]);
  });

  it('the check sees a crossing', () => {
    expect(
      importsOf("import { readFile } from 'node:fs/promises';\nimport type { X } from '../../host/runtime.ts';"),
    ).toEqual([
      { specifier: 'node:fs/promises', typeOnly: false },
      { specifier: '../../host/runtime.ts', typeOnly: true },
    ]);
  });
});
