import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parse } from 'shell-quote';

/** A rule that keeps a command from running unless the config allows it by id. */
/**
 * Where a command may write: its working directory, plus (when the sandbox is in force) the
 * folders it makes private or writable: its /tmp, its own home.
 */
export type WriteScope = { workdir: string; writable?: readonly string[]; homeWritable?: boolean };
export type PolicyRule = { id: string; reason: string; test: (words: string[][], line: string, scope?: WriteScope) => boolean };
export type PolicyVerdict = { allowed: true } | { allowed: false; rule: string; reason: string };

const PRIVILEGED = new Set(['sudo', 'su', 'doas', 'pkexec']);
const SYSTEM_PACKAGES = new Set(['apt-get', 'apt', 'yum', 'dnf', 'apk', 'pacman', 'zypper', 'snap']);
const POWER = new Set(['shutdown', 'reboot', 'halt', 'poweroff', 'init', 'systemctl']);
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'python', 'python3', 'node', 'perl']);
const DANGEROUS_TARGETS = /^(\/|\/\*|~|~\/|~\/\*|\$HOME|\$HOME\/|\$HOME\/\*|\.\.|\.\.\/.*|\/(bin|boot|dev|etc|lib|lib64|proc|root|sbin|sys|usr|var)(\/.*)?)$/;

const has = (words: string[][], test: (cmd: string[]) => boolean) => words.some(test);
const program = (cmd: string[]) => cmd.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) ?? '';

/** The default deny list: destructive outside the working directory, or privileged. */
export const DEFAULT_RULES: readonly PolicyRule[] = [
  { id: 'privileged', reason: 'runs with elevated privileges', test: (w) => has(w, (c) => PRIVILEGED.has(program(c))) },
  {
    id: 'system-packages',
    reason: 'changes system packages',
    test: (w) => has(w, (c) => SYSTEM_PACKAGES.has(program(c)) && c.some((a) => ['install', 'remove', 'purge', 'add', 'upgrade', '-S', '-R'].includes(a))),
  },
  {
    id: 'destructive-delete',
    reason: 'deletes outside the working directory',
    test: (w) => has(w, (c) => ['rm', 'rmdir', 'shred'].includes(program(c)) && c.slice(1).some((a) => DANGEROUS_TARGETS.test(a))),
  },
  {
    id: 'recursive-permissions',
    reason: 'changes ownership or permissions outside the working directory',
    test: (w) => has(w, (c) => ['chmod', 'chown', 'chgrp'].includes(program(c)) && c.slice(1).some((a) => DANGEROUS_TARGETS.test(a))),
  },
  { id: 'filesystem-format', reason: 'formats or overwrites a device', test: (w, line) => has(w, (c) => /^mkfs(\.|$)|^fdisk$|^wipefs$/.test(program(c))) || /\bof=\/dev\/(?!null)/.test(line) || />\s*\/dev\/(sd|nvme|hd|vd)/.test(line) },
  { id: 'power', reason: 'stops or restarts the machine', test: (w) => has(w, (c) => POWER.has(program(c))) },
  { id: 'fork-bomb', reason: 'is a fork bomb', test: (_, line) => /:\s*\(\s*\)\s*\{[^}]*:\s*\|\s*:/.test(line) },
  {
    id: 'remote-script',
    reason: 'pipes a downloaded script into an interpreter',
    test: (_, line) => /\b(curl|wget)\b[^|]*\|\s*(sudo\s+)?(ba|z|da)?sh\b|\b(curl|wget)\b[^|]*\|\s*(python3?|node|perl)\b/.test(line),
  },
  {
    id: 'outside-workdir',
    reason: 'deletes, overwrites or changes permissions of a path outside the working directory',
    test: (w, line, scope) => scope !== undefined && touchesOutside(w, line, scope),
  },
  { id: 'interpreter-pipe', reason: 'pipes into a shell from a network tool', test: (w) => w.length > 1 && has(w, (c) => ['nc', 'ncat', 'socat'].includes(program(c))) && has(w, (c) => SHELLS.has(program(c))) },
];

/**
 * Checks one command line against the deny rules; `allow` lists rule ids the user has allowed.
 * A line that cannot be tokenized is denied: we cannot say what it would do.
 */
export function checkCommand(line: string, allow: readonly string[] = [], scope?: WriteScope, rules: readonly PolicyRule[] = DEFAULT_RULES): PolicyVerdict {
  let words: string[][];
  try {
    words = simpleCommands(line);
  } catch {
    return { allowed: false, rule: 'unparsable', reason: 'cannot be tokenized by the shell parser' };
  }
  for (const rule of rules) {
    if (allow.includes(rule.id)) continue;
    if (rule.test(words, line, scope)) return { allowed: false, rule: rule.id, reason: rule.reason };
  }
  return { allowed: true };
}

/** Programs whose path arguments they delete, overwrite or re-permission. */
const MUTATING = new Set(['rm', 'rmdir', 'shred', 'unlink', 'truncate', 'chmod', 'chown', 'chgrp', 'mv', 'tee', 'touch', 'mkdir']);
/** Programs that write only their last path argument (the others are read). */
const COPYING = new Set(['cp', 'ln', 'install', 'rsync']);
const REDIRECT_TARGET = /(?:^|[^<>&\d])\d?>>?\|?\s*([^\s;&|()<>]+)/g;

/**
 * Whether a mutating command (or a redirection) names a path outside the working directory:
 * absolute paths elsewhere, `~`, `$HOME`, `..` escapes, and relative paths after a `cd` out.
 * Spellings that hide the program (`r''m`, `$(echo rm)`, `bash -c`) are the sandbox's job.
 */
function touchesOutside(commands: string[][], line: string, scope: WriteScope): boolean {
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
    const paths = args.filter((a) => !a.startsWith('-') && (a.includes('/') || a.startsWith('~') || a.startsWith('$HOME') || a === '..' || cwd !== workdir));
    if (MUTATING.has(prog) && paths.some(outside)) return true;
    if (COPYING.has(prog) && paths.length > 1 && outside(paths[paths.length - 1]!)) return true;
    if (prog === 'dd' && args.some((a) => a.startsWith('of=') && outside(a.slice(3)))) return true;
    if (prog === 'find' && args.some((a) => a === '-delete' || a === '-exec') && paths.some(outside)) return true;
  }
  // Redirections: `echo x > ~/file` overwrites what it names, whatever the program. (Read before
  // any `cd` of the line, a simplification that only errs towards denying.)
  cwd = workdir;
  for (const m of line.split('\n')[0]!.matchAll(REDIRECT_TARGET)) if (outside(m[1]!)) return true;
  return false;
}

function simpleCommands(line: string): string[][] {
  const firstLine = /<<-?\s*['"]?[A-Za-z_]/.test(line) ? (line.split('\n')[0] ?? '') : line;
  const commands: string[][] = [[]];
  for (const token of parse(firstLine, (name) => `$${name}`)) {
    if (typeof token === 'string') commands[commands.length - 1]!.push(token);
    else if ('op' in token && token.op === 'glob') commands[commands.length - 1]!.push((token as { pattern: string }).pattern);
    else if ('op' in token && ['&&', '||', ';', '|', '&', '(', ')', '|&'].includes(token.op)) commands.push([]);
  }
  return commands.filter((c) => c.length > 0);
}
