import { parse } from 'shell-quote';

/** A rule that keeps a command from running unless the config allows it by id. */
export type PolicyRule = { id: string; reason: string; test: (words: string[][], line: string) => boolean };
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
  { id: 'interpreter-pipe', reason: 'pipes into a shell from a network tool', test: (w) => w.length > 1 && has(w, (c) => ['nc', 'ncat', 'socat'].includes(program(c))) && has(w, (c) => SHELLS.has(program(c))) },
];

/**
 * Checks one command line against the deny rules; `allow` lists rule ids the user has allowed.
 * A line that cannot be tokenized is denied: we cannot say what it would do.
 */
export function checkCommand(line: string, allow: readonly string[] = [], rules: readonly PolicyRule[] = DEFAULT_RULES): PolicyVerdict {
  let words: string[][];
  try {
    words = simpleCommands(line);
  } catch {
    return { allowed: false, rule: 'unparsable', reason: 'cannot be tokenized by the shell parser' };
  }
  for (const rule of rules) {
    if (allow.includes(rule.id)) continue;
    if (rule.test(words, line)) return { allowed: false, rule: rule.id, reason: rule.reason };
  }
  return { allowed: true };
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
