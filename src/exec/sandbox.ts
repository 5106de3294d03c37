import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { InputError } from '../errors.ts';
import type { WriteScope } from './policy.ts';

/** How commands are confined, as recorded in CommandStarted. */
export type Confinement =
  | { kind: 'bwrap'; network: boolean; home: string; writable: string[]; args: (workdir: string) => string[] }
  | { kind: 'none'; why: string };

/** Credentials under a home folder that no command needs to read. */
const CREDENTIALS = [
  '.ssh',
  '.aws',
  '.azure',
  '.config/gcloud',
  '.config/gh',
  '.kube',
  '.docker',
  '.gnupg',
  '.password-store',
  '.netrc',
  '.npmrc',
  '.pypirc',
  '.git-credentials',
  '.nats',
];

/**
 * What tools find through HOME that must still come from the real home, now that HOME is the
 * command's own: a variable, then where it points by default (the first that exists). Read-only
 * there, like the rest of the real home; a variable already set is kept.
 */
type HomePointer = readonly [variable: string, ...defaults: string[]];

/** Toolchain managers that keep their toolchains under the home folder (rustup: "no default toolchain configured" without it). */
const TOOLCHAIN_HOMES: readonly HomePointer[] = [
  ['RUSTUP_HOME', '.rustup'],
  ['PYENV_ROOT', '.pyenv'],
  ['RBENV_ROOT', '.rbenv'],
  ['NVM_DIR', '.nvm'],
  ['VOLTA_HOME', '.volta'],
  ['ASDF_DATA_DIR', '.asdf'],
  ['SDKMAN_DIR', '.sdkman'],
  ['MISE_DATA_DIR', '.local/share/mise'],
];

/** git's global configuration, the user's name and email above all: without it a commit has no author, and is made under another name. */
const GIT_CONFIG: readonly HomePointer[] = [['GIT_CONFIG_GLOBAL', '.gitconfig', '.config/git/config']];

function pointInto(table: readonly HomePointer[], realHome: string, env: NodeJS.ProcessEnv, exists: (path: string) => boolean): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [variable, ...defaults] of table) {
    const path = defaults.map((d) => join(realHome, d)).find(exists);
    if (env[variable] === undefined && path !== undefined) found[variable] = path;
  }
  return found;
}

/** The toolchain variables a confined command gets: those unset in `env` whose folder exists under `realHome`. */
export const toolchainHomes = (realHome: string, env: NodeJS.ProcessEnv, exists: (path: string) => boolean = existsSync) => pointInto(TOOLCHAIN_HOMES, realHome, env, exists);

/** `GIT_CONFIG_GLOBAL` for a confined command: the real `~/.gitconfig`, else `~/.config/git/config`. */
export const userGitConfig = (realHome: string, env: NodeJS.ProcessEnv, exists: (path: string) => boolean = existsSync) => pointInto(GIT_CONFIG, realHome, env, exists);

/** `sandbox.writable` as absolute paths: `~/...` under the real home, the rest from the current folder. */
export function writablePaths(listed: readonly string[], realHome: string, cwd: string): string[] {
  return listed.map((p) => (p === '~' || p.startsWith('~/') ? join(realHome, p.slice(1)) : resolve(cwd, p)));
}

let probe: Promise<string | undefined> | undefined;

/** Whether bubblewrap works here (installed, user namespaces allowed); undefined means yes. */
export function probeBwrap(): Promise<string | undefined> {
  probe ??= execa('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-pid', '--die-with-parent', 'true'], {
    reject: false,
    timeout: 10_000,
    stdin: 'ignore',
  }).then((r) => (r.exitCode === 0 ? undefined : (r.stderr || r.shortMessage || `exit ${r.exitCode}`).trim().split('\n')[0]));
  return probe;
}

/**
 * Decides the confinement once per process: `auto` uses bubblewrap where it works and otherwise
 * says so once and falls back to the deny list; `bwrap` refuses to go on without it (exit 2);
 * `none` only when the config says so.
 */
/** What confinement needs of the configuration: its `sandbox` settings and the state folder. */
export type SandboxSettings = { sandbox: { mode: 'auto' | 'bwrap' | 'none'; network: boolean; writable: string[] }; stateDir: string };

export async function resolveConfinement(config: SandboxSettings, warn: (message: string) => void): Promise<Confinement> {
  const sandbox = config.sandbox;
  if (sandbox.mode === 'none') return { kind: 'none', why: 'sandbox.mode is "none" in the configuration' };
  const problem = await probeBwrap();
  if (problem !== undefined) {
    const why = `bubblewrap (bwrap) does not work here: ${problem}`;
    if (sandbox.mode === 'bwrap') {
      throw new InputError(`${why}. Install it (Debian/Ubuntu: apt-get install bubblewrap) or set sandbox.mode to "auto" or "none" in implement-agent.config.json`);
    }
    warnOnce(warn, `${why}; commands run unconfined, under the deny list only (sandbox.mode "auto")`);
    return { kind: 'none', why };
  }
  const home = resolve(config.stateDir, 'sandbox-home');
  mkdirSync(home, { recursive: true });
  const store = resolve(config.stateDir, 'nats');
  const realHome = homedir();
  const hidden = [...new Set([realHome, process.env.HOME ?? realHome])].flatMap((h) => CREDENTIALS.map((c) => join(h, c)));
  const secretFiles = [process.env.NATS_PASSWORD_FILE, process.env.NATS_CREDS].filter((f): f is string => !!f);
  const writable = writablePaths(sandbox.writable, realHome, process.cwd());
  for (const p of writable.filter((w) => !existsSync(w))) warn(`sandbox.writable: ${p} does not exist, so commands cannot write there`);
  const fromRealHome = Object.entries({ ...toolchainHomes(realHome, process.env), ...userGitConfig(realHome, process.env) }).flatMap(([variable, path]) => ['--setenv', variable, path]);
  return {
    kind: 'bwrap',
    network: sandbox.network,
    home,
    writable,
    args: (workdir) => [
      '--ro-bind', '/', '/',
      '--dev', '/dev',
      '--proc', '/proc',
      '--tmpfs', '/tmp',
      ...hidden.flatMap(hide),
      ...secretFiles.flatMap(hide),
      '--bind', home, home,
      ...writable.flatMap((p) => (existsSync(p) ? ['--bind', p, p] : [])),
      '--bind', workdir, workdir,
      // The event store is never visible, even when it lives inside the working directory.
      ...(existsSync(store) ? ['--tmpfs', store] : []),
      '--setenv', 'HOME', home,
      ...fromRealHome,
      '--chdir', workdir,
      '--unshare-pid',
      '--die-with-parent',
      ...(sandbox.network ? [] : ['--unshare-net']),
    ],
  };
}

/** An empty folder over a folder, the empty file over a file. */
function hide(path: string): string[] {
  try {
    return statSync(path).isDirectory() ? ['--tmpfs', path] : ['--ro-bind', '/dev/null', path];
  } catch {
    return [];
  }
}

let warned = false;
function warnOnce(warn: (message: string) => void, message: string) {
  if (warned) return;
  warned = true;
  warn(message);
}

/** Where a command may write under this confinement: what the deny list checks paths against. */
export function writeScope(c: Confinement, workdir: string): WriteScope {
  return c.kind === 'bwrap' ? { workdir, writable: ['/tmp', c.home, ...c.writable], homeWritable: true } : { workdir };
}

/** What CommandStarted records of the confinement in force. */
export function describeConfinement(c: Confinement): string {
  return c.kind === 'bwrap' ? `bwrap (read-only except the working directory${c.network ? '' : ', no network'})` : `none: ${c.why}`;
}

const READ_ONLY = /^.*\b(?:Read-only file system|EROFS)\b.*$/im;
/** The path a tool names in that line: quoted (`touch: cannot touch 'x'`) or bare and absolute. */
const NAMED_PATH = /'([^']+)'|"([^"]+)"|‘([^’]+)’|(\/[^\s:,'"]+)/;

/**
 * When a confined command failed because it wrote outside the working directory: which write
 * was refused and how to allow it. Recovery must not try to "fix" this by escaping.
 */
export function refusedWrite(stderr: string, stdout: string): string | undefined {
  const m = READ_ONLY.exec(`${stderr}\n${stdout}`);
  if (!m) return undefined;
  const named = NAMED_PATH.exec(m[0]);
  const path = named ? (named[1] ?? named[2] ?? named[3] ?? named[4]) : undefined;
  return (
    `the sandbox refused a write${path ? ` to ${path}` : ''} (everything outside the working directory is read-only: "${m[0].trim().slice(0, 200)}"); ` +
    'to allow a folder, add it to sandbox.writable in implement-agent.config.json (or set sandbox.mode to "none")'
  );
}
