import { lstat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { insideWorkdir } from '../context/project-files.ts';
import { parseLine, program } from '../exec/policy.ts';

/**
 * What a recovery fix would destroy: the paths whose existing content its commands overwrite,
 * replace or delete (a forced link or compression, `rm`, a copy or move onto a file, truncation,
 * an in-place edit), read from the commands themselves rather than from what a strategy declares.
 * `WORKING_TREE` stands for "every uncommitted change" (`git reset --hard`, `git clean -f`).
 * Pure; `predatingTargets` asks the disk which of them hold content from before the run.
 */
export const WORKING_TREE = '<the working tree>';

const GIT_LOCK = /(^|\/)\.git\/(?:[^/]+\/)*[^/]+\.lock$/;
const COMPRESSED_SUFFIX: Record<string, string> = { gzip: '.gz', bzip2: '.bz2', xz: '.xz', zstd: '.zst', lz4: '.lz4' };

const optionsOf = (args: string[]) => args.filter((a) => a.startsWith('-') && a !== '-');
const operandsOf = (args: string[]) => args.filter((a) => !a.startsWith('-') || a === '-');
/** A short flag letter in any cluster (`-sfn` has f), or a long option. */
const hasFlag = (args: string[], letter: string, long?: string) =>
  optionsOf(args).some((o) => (o.startsWith('--') ? o === long : o.slice(1).includes(letter)));

export function destroyedBy(line: string): string[] {
  let parsed;
  try {
    parsed = parseLine(line);
  } catch {
    return [WORKING_TREE];
  }
  const out = [...parsed.truncates.filter((t) => !t.startsWith('/dev/'))];
  for (const words of parsed.commands) {
    const prog = program(words);
    const args = words.slice(words.indexOf(prog) + 1);
    const operands = operandsOf(args);
    switch (prog) {
      case 'rm':
      case 'unlink':
      case 'shred':
      case 'truncate':
        out.push(...operands);
        break;
      case 'mv':
      case 'cp':
      case 'install':
        // The destination's content is replaced, unless told not to clobber.
        if (operands.length >= 2 && !hasFlag(args, 'n', '--no-clobber')) out.push(operands.at(-1)!);
        break;
      case 'ln':
        if (hasFlag(args, 'f', '--force') && operands.length >= 2) out.push(operands.at(-1)!);
        break;
      case 'gzip':
      case 'bzip2':
      case 'xz':
      case 'zstd':
      case 'lz4':
        if (hasFlag(args, 'f', '--force') && !hasFlag(args, 'c', '--stdout') && !hasFlag(args, 'd', '--decompress')) {
          out.push(...operands.map((o) => `${o}${COMPRESSED_SUFFIX[prog]}`));
        }
        break;
      case 'tar': {
        const flags = args[0]?.startsWith('-') ? args[0].slice(1) : (args[0] ?? '');
        const fileAt = args.findIndex((a) => a === '-f' || (/^-?[a-zA-Z]*f$/.test(a) && a.includes('c')));
        if (flags.includes('c') && fileAt >= 0 && args[fileAt + 1]) out.push(args[fileAt + 1]!);
        break;
      }
      case 'dd':
        out.push(...args.filter((a) => a.startsWith('of=')).map((a) => a.slice(3)));
        break;
      case 'sed':
      case 'perl':
        // In-place edits replace the file's content.
        if (args.some((a) => /^-[a-zA-Z]*i/.test(a) || a.startsWith('--in-place'))) out.push(...operands.slice(1));
        break;
      case 'git': {
        const [sub, ...rest] = args;
        if (
          (sub === 'reset' && rest.includes('--hard')) ||
          (sub === 'clean' && hasFlag(rest, 'f', '--force')) ||
          (sub === 'checkout' && hasFlag(rest, 'f', '--force'))
        )
          out.push(WORKING_TREE);
        if ((sub === 'checkout' || sub === 'restore') && rest.includes('--'))
          out.push(...rest.slice(rest.indexOf('--') + 1));
        if (sub === 'restore' && !rest.includes('--')) out.push(...operandsOf(rest));
        break;
      }
      default:
        break;
    }
  }
  return [...new Set(out)];
}

/**
 * Of the paths a fix would destroy, those that hold content from before the run: a regular
 * file (not a symlink, not a folder) last changed before the run started. A file the run wrote
 * since may be replaced; what predates it is the user's, and is not destroyed by recovery.
 */
export async function predatingTargets(
  paths: readonly string[],
  workdir: string,
  runStartedMs: number,
): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    // git's own lock files hold no content: a stale one left by an earlier process may go.
    if (GIT_LOCK.test(path)) continue;
    if (path === WORKING_TREE) {
      found.push(path);
      continue;
    }
    if (/[*?[$`]/.test(path)) {
      // A glob or a variable: what it names cannot be told before it runs.
      found.push(path);
      continue;
    }
    const info = await lstat(isAbsolute(path) ? path : resolve(workdir, path)).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs < runStartedMs) found.push(path);
  }
  return found;
}

/** `./a` and `a` are one path. */
export const plainPath = (path: string): string => path.replace(/^(?:\.\/)+/, '');

/**
 * What a failed `rm` meant to remove, even where it failed to say so (`rm -old.log` reads the
 * name as options): a fix that removes one of these does what the command was for.
 */
export function removedByIntent(line: string): string[] {
  return parseLine(line).commands.flatMap((words) =>
    program(words) === 'rm' ? words.slice(1).filter((w) => w !== '--' && !/^-[a-zA-Z]+$/.test(w)) : [],
  );
}

/** A path a fix destroys whose before content can be stored first: one file inside the working directory, named outright. */
export const isStorable = (path: string): boolean =>
  path !== WORKING_TREE && !/[*?[$`]/.test(path) && insideWorkdir(path) !== undefined;

/** Why a fix is refused, when it would destroy content from before the run. */
export function destructionReason(commands: readonly string[], destroyed: readonly string[]): string {
  const what = destroyed
    .map((d) => (d === WORKING_TREE ? 'every uncommitted change in the working tree' : d))
    .join(', ');
  return (
    `the fix \`${commands.join('; ')}\` would overwrite or delete ${what}, which existed before this run, and its content is not stored: ` +
    'not applied; move or remove it yourself if it may go, then resume'
  );
}

/**
 * A fix that makes the failure go away without doing what the command was for: `|| true` or
 * `2>/dev/null` around the failed command, `exit 0` in its place, or deleting a test. Refused
 * whatever it claims. (`retry`: the failed command runs again after the fix, so it must pass itself.)
 */
export function masksFailure(failed: string, commands: readonly string[], retry = false): string | undefined {
  const bare = failed.trim();
  for (const command of commands) {
    const c = command.trim();
    if (!retry && /^(?:exit\s+0|true|:)\s*;?$/.test(c)) return `\`${c}\` only makes the step succeed`;
    if (c.includes(bare) && /\|\|\s*(?:true|:|exit\s+0|echo\b)/.test(c.slice(c.indexOf(bare) + bare.length)))
      return `\`${c}\` ignores the failure of \`${bare}\``;
    if (c.includes(bare) && /2>\s*\/dev\/null/.test(c) && /\|\|/.test(c))
      return `\`${c}\` hides the failure of \`${bare}\``;
    const deleted = destroyedBy(c).filter((p) =>
      /(^|\/)(tests?|spec|__tests__)(\/|$)|[._-](test|spec)\.[a-z]+$/i.test(p),
    );
    if (deleted.length) return `\`${c}\` deletes the test ${deleted.join(', ')} instead of making it pass`;
  }
  return undefined;
}
