import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { InputError } from '../errors.ts';
import { err } from './terminal.ts';

/**
 * Where a project's state folder is, as seen from `start`: at the project root (the git root
 * of `start`, else `start`), found upwards the way git finds `.git`.
 * - `found`: it exists at `stateDir`;
 * - `legacy`: an earlier version's, in a folder below the root (it is used, and `root` is where it belongs);
 * - `none`: nothing exists; `stateDir` is where a command that writes makes it.
 */
export type Located = { kind: 'found' | 'legacy' | 'none'; stateDir: string; root: string };

/**
 * Pure: decides from what `has(dir, entry)` says exists. Without a git root, the walk stops below
 * `ceilings` (the home, the temporary folder, `/`): a state folder there belongs to no project,
 * and would otherwise capture every folder beneath it.
 */
export function locateState(
  start: string,
  name: string,
  has: (dir: string, entry: string) => boolean,
  ceilings: readonly string[],
): Located {
  const chain: string[] = [];
  let gitRoot: string | undefined;
  for (let dir = start; ; dir = dirname(dir)) {
    chain.push(dir);
    if (has(dir, '.git')) {
      gitRoot = dir;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  const root = gitRoot ?? start;
  if (isAbsolute(name)) return { kind: has(name, '.') ? 'found' : 'none', stateDir: name, root };
  const at = (dir: string) => join(dir, name);
  if (gitRoot !== undefined) {
    if (has(gitRoot, name)) return { kind: 'found', stateDir: at(gitRoot), root };
    const below = chain.find((dir) => has(dir, name));
    return below ? { kind: 'legacy', stateDir: at(below), root } : { kind: 'none', stateDir: at(root), root };
  }
  const candidates = chain.filter((dir, i) => i === 0 || !ceilings.some((c) => isAtOrAbove(dir, c)));
  const found = candidates.find((dir) => has(dir, name));
  return found ? { kind: 'found', stateDir: at(found), root: found } : { kind: 'none', stateDir: at(root), root };
}

const isAtOrAbove = (dir: string, ceiling: string) => !relative(dir, ceiling).startsWith('..');

/** What the state folder holds so that git never shows it: every file in it ignored. */
export const STATE_GITIGNORE = '*\n';

/**
 * Settles `config.stateDir` to the absolute path of the project's state folder, found from
 * `start`, so every later use (the store, the sandbox's home, reports, the run's own files)
 * names the same folder. `create`: a command that writes makes it (with its `.gitignore`); a
 * command that only reads needs one (unless its events come from elsewhere, `remote`).
 */
export async function settleState(
  config: Config,
  start: string,
  options: { create: boolean; remote?: boolean },
): Promise<Located> {
  const name = config.stateDir;
  const located = locateState(resolve(start), name, (dir, entry) => existsSync(join(dir, entry)), [
    homedir(),
    tmpdir(),
    '/',
  ]);
  config.stateDir = located.stateDir;
  if (located.kind === 'legacy') sayLegacy(located);
  if (located.kind !== 'none' || options.create) await createState(located.stateDir);
  else if (!options.remote)
    throw new InputError(
      `no ${name}/ in ${resolve(start)} or above: no run was made in this project yet (\`implement-agent run <tasks.md>\` makes one at ${located.root})`,
    );
  return located;
}

let legacySaid = false;
function sayLegacy(located: Located): void {
  if (legacySaid) return;
  legacySaid = true;
  err(
    `implement-agent: using the state in ${located.stateDir}, where an earlier version kept it; it now belongs at the project root: \`mv ${located.stateDir} ${located.root}/\` moves it`,
  );
}

/** Makes the state folder with its `.gitignore` at once (built aside, then renamed): git never sees it without one. */
export async function createState(stateDir: string): Promise<void> {
  if (existsSync(stateDir)) {
    // A folder an earlier version made has none yet.
    if (!existsSync(join(stateDir, '.gitignore'))) await writeFile(join(stateDir, '.gitignore'), STATE_GITIGNORE);
    return;
  }
  const aside = `${stateDir}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await mkdir(aside, { recursive: true, mode: 0o700 });
  try {
    await writeFile(join(aside, '.gitignore'), STATE_GITIGNORE);
    await rename(aside, stateDir).catch((error: NodeJS.ErrnoException) => {
      // Another process made it first: theirs is as good.
      if (error.code !== 'EEXIST' && error.code !== 'ENOTEMPTY') throw error;
    });
  } finally {
    await rm(aside, { recursive: true, force: true });
  }
}
