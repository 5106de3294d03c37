import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parse } from 'shell-quote';

/** A rule that keeps a command from running unless the config allows it by id. */
/**
 * Where a command may write: its working directory, plus (when the sandbox is in force) the
 * folders it makes private or writable: its /tmp, its own home.
 */
export type WriteScope = { workdir: string; writable?: readonly string[]; homeWritable?: boolean };
/**
 * A command line as the shell reads it: its simple commands (words, quotes removed), the targets
 * of its redirections, and the line with quoted text and heredoc bodies blanked (`bare`), so that
 * a rule matching text never takes data (`printf 'x > /etc/y' > script.sh`) for a redirection.
 */
export type ParsedLine = {
  commands: string[][];
  redirects: string[];
  /** Of the redirect targets, those truncated first (`>`, `>|`; not `>>`): their content is replaced. */
  truncates: string[];
  pipes: [number, number][];
  bare: string;
};
export type PolicyRule = { id: string; reason: string; test: (line: ParsedLine, scope?: WriteScope) => boolean };
export type PolicyVerdict = { allowed: true } | { allowed: false; rule: string; reason: string };

const PRIVILEGED = new Set(['sudo', 'su', 'doas', 'pkexec']);
const SYSTEM_PACKAGES = new Set(['apt-get', 'apt', 'yum', 'dnf', 'apk', 'pacman', 'zypper', 'snap']);
const POWER = new Set(['shutdown', 'reboot', 'halt', 'poweroff', 'init', 'systemctl']);
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'python', 'python3', 'node', 'perl']);
const DANGEROUS_TARGETS =
  /^(\/|\/\*|~|~\/|~\/\*|\$HOME|\$HOME\/|\$HOME\/\*|\.\.|\.\.\/.*|\/(bin|boot|dev|etc|lib|lib64|proc|root|sbin|sys|usr|var)(\/.*)?)$/;

const INTERPRETERS = /^(?:(?:ba|z|da)?sh|python3?|node|perl)$/;
const withoutSudo = (cmd: string[]) => (PRIVILEGED.has(program(cmd)) ? cmd.slice(cmd.indexOf(program(cmd)) + 1) : cmd);
const has = (words: string[][], test: (cmd: string[]) => boolean) => words.some(test);
/** The program a simple command runs: its first word that is not a `NAME=value` assignment. */
export const program = (cmd: string[]) => cmd.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) ?? '';

/** The default deny list: destructive outside the working directory, or privileged. */
export const DEFAULT_RULES: readonly PolicyRule[] = [
  {
    id: 'privileged',
    reason: 'runs with elevated privileges',
    test: ({ commands: w }) => has(w, (c) => PRIVILEGED.has(program(c))),
  },
  {
    id: 'system-packages',
    reason: 'changes system packages',
    test: ({ commands: w }) =>
      has(
        w,
        (c) =>
          SYSTEM_PACKAGES.has(program(c)) &&
          c.some((a) => ['install', 'remove', 'purge', 'add', 'upgrade', '-S', '-R'].includes(a)),
      ),
  },
  {
    id: 'destructive-delete',
    reason: 'deletes outside the working directory',
    test: ({ commands: w }) =>
      has(w, (c) => ['rm', 'rmdir', 'shred'].includes(program(c)) && c.slice(1).some((a) => DANGEROUS_TARGETS.test(a))),
  },
  {
    id: 'recursive-permissions',
    reason: 'changes ownership or permissions outside the working directory',
    test: ({ commands: w }) =>
      has(
        w,
        (c) => ['chmod', 'chown', 'chgrp'].includes(program(c)) && c.slice(1).some((a) => DANGEROUS_TARGETS.test(a)),
      ),
  },
  {
    id: 'filesystem-format',
    reason: 'formats or overwrites a device',
    test: ({ commands: w, redirects }) =>
      has(
        w,
        (c) =>
          /^mkfs(\.|$)|^fdisk$|^wipefs$/.test(program(c)) ||
          (program(c) === 'dd' && c.some((a) => /^of=\/dev\/(?!null)/.test(a))),
      ) || redirects.some((r) => /^\/dev\/(sd|nvme|hd|vd)/.test(r)),
  },
  {
    id: 'power',
    reason: 'stops or restarts the machine',
    test: ({ commands: w }) => has(w, (c) => POWER.has(program(c))),
  },
  { id: 'fork-bomb', reason: 'is a fork bomb', test: ({ bare }) => /:\s*\(\s*\)\s*\{[^}]*:\s*\|\s*:/.test(bare) },
  {
    id: 'remote-script',
    reason: 'pipes a downloaded script into an interpreter',
    test: ({ commands: w, pipes }) =>
      pipes.some(
        ([from, to]) => ['curl', 'wget'].includes(program(w[from]!)) && INTERPRETERS.test(program(withoutSudo(w[to]!))),
      ),
  },
  {
    id: 'outside-workdir',
    reason: 'deletes, overwrites or changes permissions of a path outside the working directory',
    test: (parsed, scope) => scope !== undefined && touchesOutside(parsed, scope),
  },
  {
    id: 'interpreter-pipe',
    reason: 'pipes into a shell from a network tool',
    test: ({ commands: w }) =>
      w.length > 1 &&
      has(w, (c) => ['nc', 'ncat', 'socat'].includes(program(c))) &&
      has(w, (c) => SHELLS.has(program(c))),
  },
];

/**
 * Checks one command line against the deny rules; `allow` lists rule ids the user has allowed.
 * A line that cannot be tokenized is denied: we cannot say what it would do.
 */
export function checkCommand(
  line: string,
  allow: readonly string[] = [],
  scope?: WriteScope,
  rules: readonly PolicyRule[] = DEFAULT_RULES,
): PolicyVerdict {
  let parsed: ParsedLine;
  try {
    parsed = parseLine(line);
  } catch {
    return { allowed: false, rule: 'unparsable', reason: 'cannot be tokenized by the shell parser' };
  }
  for (const rule of rules) {
    if (allow.includes(rule.id)) continue;
    if (rule.test(parsed, scope)) return { allowed: false, rule: rule.id, reason: rule.reason };
  }
  return { allowed: true };
}

/** Programs whose path arguments they delete, overwrite or re-permission. */
const MUTATING = new Set([
  'rm',
  'rmdir',
  'shred',
  'unlink',
  'truncate',
  'chmod',
  'chown',
  'chgrp',
  'mv',
  'tee',
  'touch',
  'mkdir',
]);
/** Programs that write only their last path argument (the others are read). */
const COPYING = new Set(['cp', 'ln', 'install', 'rsync']);

/**
 * Whether a mutating command (or a redirection) names a path outside the working directory:
 * absolute paths elsewhere, `~`, `$HOME`, `..` escapes, and relative paths after a `cd` out.
 * Spellings that hide the program (`r''m`, `$(echo rm)`, `bash -c`) are the sandbox's job.
 */
function touchesOutside({ commands, redirects }: ParsedLine, scope: WriteScope): boolean {
  const { workdir } = scope;
  let cwd = workdir;
  const within = (root: string, full: string) => {
    const rel = relative(root, full);
    return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
  };
  const outside = (arg: string) => {
    if (arg === '/dev/null' || arg.startsWith('/dev/std') || arg.startsWith('/dev/fd/')) return false;
    const path = arg.replace(/^(~|\$HOME|\$\{HOME\})(?=\/|$)/, '\u0000home');
    if (path.startsWith('\u0000home') || cwd.startsWith('/\u0000home')) return !scope.homeWritable;
    const full = resolve(cwd, path);
    return !within(workdir, full) && !(scope.writable ?? []).some((root) => within(root, full));
  };
  for (const words of commands) {
    const prog = program(words);
    const args = words.slice(words.indexOf(prog) + 1);
    if (prog === 'cd') {
      const target = args[0] ?? '~';
      cwd = target.startsWith('~') || target.startsWith('$HOME') ? '/\u0000home' : resolve(cwd, target);
      continue;
    }
    const paths = args.filter(
      (a) =>
        !a.startsWith('-') &&
        (a.includes('/') || a.startsWith('~') || a.startsWith('$HOME') || a === '..' || cwd !== workdir),
    );
    if (MUTATING.has(prog) && paths.some(outside)) return true;
    if (COPYING.has(prog) && paths.length > 1 && outside(paths[paths.length - 1]!)) return true;
    if (prog === 'dd' && args.some((a) => a.startsWith('of=') && outside(a.slice(3)))) return true;
    if (prog === 'find' && args.some((a) => a === '-delete' || a === '-exec') && paths.some(outside)) return true;
  }
  // Redirections: `echo x > ~/file` overwrites what it names, whatever the program. (Read before
  // any `cd` of the line, a simplification that only errs towards denying.)
  cwd = workdir;
  return redirects.some(outside);
}

const SEPARATORS = new Set(['&&', '||', ';', '|', '&', '(', ')', '|&']);
const WRITE_REDIRECTS = new Set(['>', '>>', '>&']);

/**
 * The shell's reading of a line (shell-quote's tokens): quoted text is one word, never an
 * operator; a heredoc's body is data, so only its first line is read.
 */
export function parseLine(line: string): ParsedLine {
  const firstLine = /<<-?\s*['"]?[A-Za-z_]/.test(line) ? (line.split('\n')[0] ?? '') : line;
  const tokens = parse(firstLine, (name) => `$${name}`);
  const commands: string[][] = [[]];
  const redirects: string[] = [];
  const truncates: string[] = [];
  const pipes: [number, number][] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (typeof token === 'string') commands[commands.length - 1]!.push(token);
    else if ('op' in token && token.op === 'glob')
      commands[commands.length - 1]!.push((token as { pattern: string }).pattern);
    else if ('op' in token && WRITE_REDIRECTS.has(token.op)) {
      // `>|` comes as `>` then `|`; `>&2` names a descriptor, not a file.
      let next = tokens[i + 1];
      if (next !== undefined && typeof next !== 'string' && 'op' in next && next.op === '|') next = tokens[++i + 1];
      if (typeof next === 'string' && !(token.op === '>&' && /^\d+-?$/.test(next))) {
        redirects.push(next);
        if (token.op !== '>>') truncates.push(next);
      }
      if (typeof next === 'string') i++;
    } else if ('op' in token && SEPARATORS.has(token.op)) {
      if (token.op === '|' || token.op === '|&') pipes.push([commands.length - 1, commands.length]);
      commands.push([]);
    }
  }
  // Empty commands (`| (sh)` gives one) are dropped; a pipe then joins the nearest commands on each side.
  const kept = commands.flatMap((c, i) => (c.length > 0 ? [i] : []));
  const before = (i: number) => kept.filter((k) => k <= i).length - 1;
  const after = (i: number) => kept.findIndex((k) => k >= i);
  return {
    commands: kept.map((i) => commands[i]!),
    redirects,
    truncates,
    pipes: pipes.map(([a, b]): [number, number] => [before(a), after(b)]).filter(([a, b]) => a >= 0 && b >= 0),
    bare: blankQuoted(firstLine),
  };
}

/** The line with the text inside quotes blanked out, for the rules that match text. */
function blankQuoted(line: string): string {
  let out = '';
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) {
        quote = undefined;
        out += ch;
      } else if (quote === '"' && ch === '\\') i++;
      continue;
    }
    if (ch === '\\') {
      out += ch + (line[i + 1] ?? '');
      i++;
    } else {
      if (ch === "'" || ch === '"') quote = ch;
      out += ch;
    }
  }
  return out;
}
