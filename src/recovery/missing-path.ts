import { posix } from 'node:path';
import { analyzeCommand } from '../exec/shell-analysis.ts';

/** What a "no such file" failure is about, read from the command's own effects. */
export type MissingPath =
  /** The command creates `path` (or writes into the folder `path`) and `folder` does not exist. */
  | { role: 'created'; path: string; folder: string }
  /** The command reads `path` (or changes it in place): an input is missing. */
  | { role: 'read'; path: string };

const MISSING = /No such file or directory|ENOENT|does not exist/i;
const DIRECTORY_CHANGERS = new Set(['cd', 'pushd', 'popd']);

/**
 * Finds, on a line of output that says something is missing, a path the failed command itself
 * creates or reads, as the shell analysis sees the command. Any tool that names the path in its
 * message is covered without a pattern of its own. Undefined when no such path is named, or when
 * the command changes folder (its relative paths would no longer mean what they say here).
 */
export function findMissingPath(command: string, output: string): MissingPath | undefined {
  const effects = analyzeCommand(command);
  if (effects.programs.some((p) => DIRECTORY_CHANGERS.has(p))) return undefined;
  const usable = (paths: string[]) =>
    [...new Set(paths.filter((p) => !/[$*?`]/.test(p)))].sort((a, b) => b.length - a.length);
  const created = usable(effects.creates);
  const into = usable(effects.into);
  const read = usable([
    ...effects.reads,
    ...effects.writes.filter((w) => !effects.creates.includes(w) && !effects.into.includes(w)),
  ]);
  for (const line of output.split('\n')) {
    if (!MISSING.test(line)) continue;
    const folder = into.find((p) => names(line, p));
    if (folder) return { role: 'created', path: folder, folder: clean(folder) };
    const made = created.find((p) => names(line, p));
    if (made) {
      const parent = posix.dirname(clean(made));
      if (parent !== '.' && parent !== '/') return { role: 'created', path: made, folder: parent };
    }
    const input = read.find((p) => names(line, p));
    if (input) return { role: 'read', path: input };
  }
  return undefined;
}

/** The line names the path as a word of its own (quoted, between separators, or at the end of an absolute path). */
function names(line: string, path: string): boolean {
  const forms = [path, clean(path)].filter((p, i, all) => p !== '' && all.indexOf(p) === i);
  return forms.some((p) => new RegExp(`(?:^|[\\s'"‘\`(:/])${escape(p)}(?=$|[\\s'"’):,])`).test(line));
}

function clean(path: string): string {
  return posix.normalize(path).replace(/\/$/, '');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
