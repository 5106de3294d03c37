import { parse, type ParseEntry } from 'shell-quote';

/** What one shell command line touches, as far as a static reading can tell. */
export type CommandEffects = {
  reads: string[];
  writes: string[];
  /**
   * Of the writes, the paths the command makes anew (so their folder must already exist), and the
   * folders it writes into that must exist themselves (`tar -C dir`). What recovery reads to tell
   * a missing output folder from a missing input.
   */
  creates: string[];
  into: string[];
  /** Changes the environment for later commands (cd, export, installs, git checkout...). */
  barrier: boolean;
  /** Some part of the line does things we cannot see (an unknown program): order it fully. */
  opaque: boolean;
  /** The words a reader of the graph wants: why this command is a barrier or opaque. */
  notes: string[];
  /** The programs the line runs, in order (first word of each simple command). */
  programs: string[];
};

const CONTROL_OPS = new Set(['&&', '||', ';', ';;', '|', '|&', '&', '(', ')']);
const WRITE_REDIRECTS = new Set(['>', '>>', '>|', '&>', '&>>']);

/** Programs that change the shell or machine state later commands see. */
const ENV_CHANGERS = new Set([
  'cd',
  'pushd',
  'popd',
  'export',
  'unset',
  'source',
  '.',
  'alias',
  'set',
  'shopt',
  'ulimit',
  'umask',
  'nvm',
  'conda',
  'pyenv',
  'corepack',
  'apt-get',
  'apt',
  'yum',
  'dnf',
  'apk',
  'brew',
]);
/** Subcommands that install or switch things. */
const ENV_SUBCOMMANDS: Record<string, Set<string>> = {
  npm: new Set(['install', 'i', 'ci', 'add', 'uninstall', 'link', 'update']),
  pnpm: new Set(['install', 'i', 'add', 'remove', 'update']),
  yarn: new Set(['install', 'add', 'remove', '']),
  pip: new Set(['install', 'uninstall']),
  pip3: new Set(['install', 'uninstall']),
  git: new Set(['checkout', 'switch', 'reset', 'pull', 'merge', 'rebase', 'stash', 'init', 'clone', 'restore']),
};

/** Programs whose file effects we understand: which arguments they read and write. */
type Known = { reads: string[]; writes: string[]; creates?: string[]; into?: string[]; opaque?: boolean };
type Reader = (operands: string[], raw: string[]) => Known | undefined;
const lastIsTarget: Reader = (args) => ({ reads: args.slice(0, -1), writes: args.slice(-1), creates: args.slice(-1) });
const allCreated: Reader = (args) => ({ reads: [], writes: args, creates: args });
const allWritten: Reader = (args) => ({ reads: [], writes: args });
const allRead: Reader = (args) => ({ reads: args, writes: [] });

/** The value of an option written `-o v`, `-ov`, `--out v` or `--out=v`. */
function optionValue(raw: string[], short: string[], long: string[] = []): string | undefined {
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (short.includes(a) || long.includes(a)) return raw[i + 1];
    const eq = long.find((l) => a.startsWith(`${l}=`));
    if (eq) return a.slice(eq.length + 1);
    const joined = short.find((s) => s.length === 2 && a.startsWith(s) && a.length > 2 && !a.startsWith('--'));
    if (joined) return a.slice(2);
  }
  return undefined;
}
const list = (v: string | undefined) => (v === undefined ? [] : [v]);

/** tar: the archive is created with -c and read with -x/-t; what -x writes is unknown. */
const tar: Reader = (_operands, raw) => {
  const first = raw[0] ?? '';
  const bundle = first.startsWith('--') ? '' : first.replace(/^-/, '');
  const mode =
    /c/.test(bundle) || raw.includes('--create')
      ? 'c'
      : /[xt]/.test(bundle) || raw.includes('--extract')
        ? 'x'
        : undefined;
  // With bundled letters (`czf out.tgz`) the archive is the word after the bundle.
  const archive = optionValue(raw, ['-f'], ['--file']) ?? (/f$/.test(bundle) ? raw[1] : undefined);
  if (!mode || !archive) return undefined;
  const into = optionValue(raw, ['-C'], ['--directory']);
  if (mode === 'c') {
    const skip = new Set([first, archive, ...list(into), '-C', '--directory', '-f', '--file']);
    return {
      reads: into ? [] : raw.filter((a) => !a.startsWith('-') && !skip.has(a)),
      writes: [archive],
      creates: [archive],
      opaque: !!into,
    };
  }
  return { reads: [archive], writes: list(into), into: list(into), opaque: true };
};
/** A tool that creates the value of an output option and does things we do not follow. */
const outputOption =
  (short: string[], long: string[] = []): Reader =>
  (_operands, raw) => {
    const out = optionValue(raw, short, long);
    return out ? { reads: [], writes: [out], creates: [out], opaque: true } : undefined;
  };
/** An interpreter running a script file: it reads the script; what the script does is unknown. */
const interpreter: Reader = (operands, raw) =>
  raw[0] && !raw[0].startsWith('-') && operands[0] ? { reads: [operands[0]], writes: [], opaque: true } : undefined;
const compiler = outputOption(['-o']);

const KNOWN: Record<string, Reader> = {
  mkdir: allCreated,
  touch: allCreated,
  rm: allWritten,
  rmdir: allWritten,
  chmod: (args) => ({ reads: [], writes: args.slice(1) }),
  cp: lastIsTarget,
  ln: lastIsTarget,
  install: lastIsTarget,
  mv: (args) => ({ reads: [], writes: args, creates: args.slice(-1) }),
  tar,
  zip: (operands) =>
    operands.length
      ? { reads: operands.slice(1), writes: operands.slice(0, 1), creates: operands.slice(0, 1) }
      : undefined,
  sort: (operands, raw) => {
    const out = optionValue(raw, ['-o'], ['--output']);
    return { reads: operands.filter((o) => o !== out), writes: list(out), creates: list(out) };
  },
  dd: (operands) => {
    const value = (key: string) => list(operands.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1));
    return { reads: value('if'), writes: value('of'), creates: value('of') };
  },
  gcc: compiler,
  cc: compiler,
  'g++': compiler,
  clang: compiler,
  curl: outputOption(['-o'], ['--output']),
  wget: outputOption(['-O'], ['--output-document']),
  openssl: outputOption(['-out']),
  'ssh-keygen': outputOption(['-f']),
  sqlite3: (operands) =>
    operands[0] ? { reads: [], writes: [operands[0]], creates: [operands[0]], opaque: true } : undefined,
  git: (operands) =>
    operands[0] === 'mv' && operands.length >= 3
      ? { reads: operands.slice(1, -1), writes: operands.slice(1), creates: operands.slice(-1), opaque: true }
      : undefined,
  python: interpreter,
  python3: interpreter,
  bash: interpreter,
  sh: interpreter,
  cat: allRead,
  head: allRead,
  tail: allRead,
  wc: allRead,
  ls: allRead,
  test: allRead,
  '[': allRead,
  stat: allRead,
  diff: allRead,
  cmp: allRead,
  grep: (args) => ({ reads: args.slice(1), writes: [] }),
  echo: () => ({ reads: [], writes: [] }),
  printf: () => ({ reads: [], writes: [] }),
  true: () => ({ reads: [], writes: [] }),
  false: () => ({ reads: [], writes: [] }),
  sleep: () => ({ reads: [], writes: [] }),
  pwd: () => ({ reads: [], writes: [] }),
  tee: allCreated,
  sed: (args) =>
    args.some((a) => a === '-i' || a.startsWith('-i'))
      ? { reads: [], writes: args.slice(1) }
      : { reads: args.slice(1), writes: [] },
  // node runs a script file it reads; inline code (-e/-p) or flags we do not know are opaque.
  node: (operands, raw) =>
    raw.some((a) => a.startsWith('-')) ? undefined : { reads: operands.slice(0, 1), writes: [] },
};

/**
 * Reads a command line with a real shell tokenizer (quotes, redirections, pipes, subshells) and
 * says what it reads, writes, and whether it is a barrier. Anything not understood is opaque.
 */
export function analyzeCommand(line: string): CommandEffects {
  const effects: CommandEffects = {
    reads: [],
    writes: [],
    creates: [],
    into: [],
    barrier: false,
    opaque: false,
    notes: [],
    programs: [],
  };
  const { text, heredoc } = stripHeredocBodies(line);
  let tokens: ParseEntry[];
  try {
    tokens = parse(text, (name) => `$${name}`);
  } catch {
    return { ...effects, opaque: true, notes: ['could not be tokenized'] };
  }
  if (heredoc) effects.notes.push('heredoc');

  let words: string[] = [];
  const flush = () => {
    if (words.length > 0) readSimpleCommand(words, effects);
    words = [];
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (typeof token === 'string') {
      words.push(token);
      continue;
    }
    if ('comment' in token) break;
    if (!('op' in token)) continue;
    if (token.op === 'glob') {
      words.push((token as { pattern: string }).pattern);
      continue;
    }
    if (CONTROL_OPS.has(token.op)) {
      flush();
      continue;
    }
    // A redirection: an fd number before it is not an argument; the word after it is a path.
    const op: string = token.op;
    if (/^\d+$/.test(words[words.length - 1] ?? '')) words.pop();
    const target = tokens[i + 1];
    if (op === '<' && typeof tokens[i + 1] === 'object' && (tokens[i + 1] as { op?: string }).op === '<') {
      i += 2; // `<<EOF`: the delimiter word, not a file
      continue;
    }
    if (typeof target !== 'string') continue;
    i++;
    if (op === '>&' || op === '<&') continue; // fd duplication: 2>&1
    if (WRITE_REDIRECTS.has(op)) {
      effects.writes.push(target);
      effects.creates.push(target);
    } else if (op === '<') effects.reads.push(target);
  }
  flush();
  effects.reads = effects.reads.filter(isPathLike);
  effects.writes = effects.writes.filter(isPathLike);
  effects.creates = effects.creates.filter(isPathLike);
  effects.into = effects.into.filter(isPathLike);
  return effects;
}

function readSimpleCommand(words: string[], effects: CommandEffects) {
  // Leading assignments (FOO=bar cmd) only affect that command; bare assignments affect the shell.
  let start = 0;
  while (start < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[start]!)) start++;
  if (start === words.length) {
    effects.barrier = true;
    effects.notes.push('sets a shell variable');
    return;
  }
  const program = words[start]!;
  const args = words.slice(start + 1);
  effects.programs.push(program);
  const sub = args.find((a) => !a.startsWith('-')) ?? '';
  if (ENV_CHANGERS.has(program) || ENV_SUBCOMMANDS[program]?.has(sub)) {
    effects.barrier = true;
    effects.notes.push(`${program}${ENV_SUBCOMMANDS[program] ? ` ${sub}` : ''} changes the environment`);
    return;
  }
  const reader = KNOWN[program];
  const operands = args.filter((a) => !a.startsWith('-'));
  const known = reader?.(
    program === 'chmod' ? args.filter((a) => !a.startsWith('-') || /^-[rwx]/.test(a)) : operands,
    args,
  );
  if (!known || known.opaque) {
    effects.opaque = true;
    effects.notes.push(`${program} has effects we cannot see`);
  }
  if (!known) return;
  effects.reads.push(...known.reads);
  effects.writes.push(...known.writes);
  effects.creates.push(...(known.creates ?? []));
  effects.into.push(...(known.into ?? []));
}

function isPathLike(word: string): boolean {
  return word !== '' && word !== '/dev/null' && !word.startsWith('/dev/std');
}

/** Heredoc bodies are data, not shell: keep only the first line for the tokenizer. */
function stripHeredocBodies(line: string): { text: string; heredoc: boolean } {
  if (!/<<-?\s*['"]?[A-Za-z_]/.test(line)) return { text: line.replace(/\\\n/g, ' '), heredoc: false };
  return { text: (line.split('\n')[0] ?? '').replace(/\\$/, ''), heredoc: true };
}
