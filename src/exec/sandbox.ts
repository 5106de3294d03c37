import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { InputError } from '../errors.ts';
import { AUTH_CONF_FILE } from '../file-names.ts';
import type { CommandGroup } from './cgroup.ts';
import { prlimitArgs, type Limits } from './limits.ts';
import { networkNotice, onPath, resolveNetwork, type Network, type NetworkMode } from './netns.ts';
import type { WriteScope } from './policy.ts';
import { configFiles, gitControlFiles, hide, keptOfRun, PRIVATE_DIRS, socketsNow } from './sandbox-mounts.ts';

/** How commands are confined, as recorded in CommandStarted. */
export type Confinement = { prlimit: boolean } & (
  | {
      kind: 'bwrap';
      network: Network;
      home: string;
      writable: string[];
      args: (workdir: string, bound?: Bound) => string[];
    }
  | { kind: 'none'; why: string }
);

/**
 * A task's private copy of the working directory (src/workspace/copy-view.ts): bound at the
 * folder's own path, and the real folder's `through` paths (the repository, the tool's state,
 * dependency folders) bound over their place in it, so what is written there lands at once.
 */
export type Bound = { source: string; through: readonly string[] };

/**
 * Credentials under a home folder: hidden even when a folder above them is made readable
 * (`sandbox.readable`), since the home is otherwise not visible at all.
 */
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
  '.cargo/credentials.toml',
  '.cargo/credentials',
];

/** Where homes live: not visible inside the sandbox (the per-project home replaces them) but for what `readableFromHome` names. */
const HOMES = ['/home', '/root'];

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

function pointInto(
  table: readonly HomePointer[],
  realHome: string,
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean,
): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [variable, ...defaults] of table) {
    const path = defaults.map((d) => join(realHome, d)).find(exists);
    if (env[variable] === undefined && path !== undefined) found[variable] = path;
  }
  return found;
}

/** The toolchain variables a confined command gets: those unset in `env` whose folder exists under `realHome`. */
export const toolchainHomes = (
  realHome: string,
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
) => pointInto(TOOLCHAIN_HOMES, realHome, env, exists);

/** `GIT_CONFIG_GLOBAL` for a confined command: the real `~/.gitconfig`, else `~/.config/git/config`. */
export const userGitConfig = (
  realHome: string,
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
) => pointInto(GIT_CONFIG, realHome, env, exists);

/** `sandbox.writable` as absolute paths: `~/...` under the real home, the rest from the current folder. */
export function writablePaths(listed: readonly string[], realHome: string, cwd: string): string[] {
  return listed.map((p) => (p === '~' || p.startsWith('~/') ? join(realHome, p.slice(1)) : resolve(cwd, p)));
}

let probe: Promise<string | undefined> | undefined;

/** Whether bubblewrap works here (installed, user namespaces allowed); undefined means yes. */
export function probeBwrap(): Promise<string | undefined> {
  probe ??= execa(
    'bwrap',
    ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-pid', '--die-with-parent', 'true'],
    {
      reject: false,
      timeout: 10_000,
      stdin: 'ignore',
    },
  ).then((r) =>
    r.exitCode === 0 ? undefined : (r.stderr || r.shortMessage || `exit ${r.exitCode}`).trim().split('\n')[0],
  );
  return probe;
}

/** What confinement needs of the configuration: its `sandbox` settings and the state folder. */
export type SandboxSettings = {
  sandbox: {
    mode: 'auto' | 'bwrap' | 'none';
    network: NetworkMode;
    writable: string[];
    readable: string[];
    sockets: string[];
  };
  stateDir: string;
};

/**
 * What a confined command may read of the homes, each read-only: the toolchains found there
 * (their variables set), git's global config, the folders on PATH that lie in a home (tools
 * installed per user: ~/.local/bin, ~/.cargo/bin), and `sandbox.readable`.
 */
export function readableFromHome(
  realHome: string,
  env: NodeJS.ProcessEnv,
  listed: readonly string[],
  cwd: string,
  exists: (path: string) => boolean = existsSync,
) {
  const pointers = { ...toolchainHomes(realHome, env, exists), ...userGitConfig(realHome, env, exists) };
  const homes = [...new Set([...HOMES, realHome])];
  // A toolchain variable already set points where the toolchain is: readable too.
  const alreadySet = [...TOOLCHAIN_HOMES, ...GIT_CONFIG]
    .map(([variable]) => env[variable])
    .filter((p): p is string => !!p && p.startsWith('/'));
  const onPath = (env.PATH ?? '').split(':').filter((p) => p && homes.some((h) => p === h || p.startsWith(`${h}/`)));
  const paths = [
    ...new Set([...Object.values(pointers), ...alreadySet, ...onPath, ...writablePaths(listed, realHome, cwd)]),
  ].filter(exists);
  return { pointers, paths };
}

/**
 * Decides the confinement once per process: `auto` uses bubblewrap where it works and otherwise
 * says so once and falls back to the deny list; `bwrap` refuses to go on without it (exit 2);
 * `none` only when the config says so. Says which network commands get.
 */
export async function resolveConfinement(
  config: SandboxSettings,
  warn: (message: string) => void,
  info: (message: string) => void = warn,
): Promise<Confinement> {
  const sandbox = config.sandbox;
  const prlimit = onPath('prlimit') !== undefined;
  if (!prlimit) warn('prlimit (util-linux) is not on PATH: commands run without CPU and process limits');
  if (sandbox.mode === 'none') return { kind: 'none', prlimit, why: 'sandbox.mode is "none" in the configuration' };
  const problem = await probeBwrap();
  if (problem !== undefined) {
    const why = `bubblewrap (bwrap) does not work here: ${problem}`;
    if (sandbox.mode === 'bwrap') {
      throw new InputError(
        `${why}. Install it (Debian/Ubuntu: apt-get install bubblewrap) or set sandbox.mode to "auto" or "none" in implement-agent.config.json`,
      );
    }
    warnOnce(warn, `${why}; commands run unconfined, under the deny list only (sandbox.mode "auto")`);
    return { kind: 'none', prlimit, why };
  }
  const network = await resolveNetwork(sandbox.network, warn);
  info(networkNotice(network.mode));
  return { kind: 'bwrap', prlimit, ...bwrapConfinement(config, network, warn) };
}

function bwrapConfinement(config: SandboxSettings, network: Network, warn: (message: string) => void) {
  const sandbox = config.sandbox;
  const home = resolve(config.stateDir, 'sandbox-home');
  mkdirSync(home, { recursive: true });
  const store = resolve(config.stateDir, 'nats');
  const views = viewsDir(config.stateDir);
  const realHome = homedir();
  const homes = [...new Set([...HOMES, realHome, process.env.HOME ?? realHome])];
  const readable = readableFromHome(realHome, process.env, sandbox.readable, process.cwd());
  // A credential is visible only under a folder made readable again; elsewhere its home hides it already.
  const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
  const credentials = homes
    .flatMap((h) => CREDENTIALS.map((c) => join(h, c)))
    .filter((c) => readable.paths.some((r) => under(c, r) || under(r, c)));
  const secretFiles = secretsOf(process.env);
  const keptSockets = sandbox.sockets.map((k) => resolve(k)).filter((k) => existsSync(k));
  const writable = writablePaths(sandbox.writable, realHome, process.cwd());
  for (const p of writable.filter((w) => !existsSync(w)))
    warn(`sandbox.writable: ${p} does not exist, so commands cannot write there`);
  for (const p of writablePaths(sandbox.readable, realHome, process.cwd()).filter((r) => !existsSync(r)))
    warn(`sandbox.readable: ${p} does not exist`);
  const fromRealHome = Object.entries(readable.pointers).flatMap(([variable, path]) => ['--setenv', variable, path]);
  const keepSshAgent = sandbox.sockets.some(
    (k) => process.env.SSH_AUTH_SOCK !== undefined && resolve(k) === resolve(process.env.SSH_AUTH_SOCK),
  );
  const resolver = network.mode === 'outbound' ? ['--ro-bind', network.resolvConf, network.resolvAt] : [];
  return {
    network,
    home,
    writable,
    args: (workdir: string, bound?: Bound) => [
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      ...PRIVATE_DIRS.flatMap((d) => (existsSync(d) ? ['--tmpfs', d] : [])),
      ...keptOfRun(network.mode === 'host').flatMap((p) => ['--ro-bind', p, p]),
      ...resolver,
      // The homes are empty inside, but for what commands need of them, read-only.
      ...homes.flatMap(hide),
      ...readable.paths.flatMap((p) => ['--ro-bind', p, p]),
      ...credentials.flatMap(hide),
      ...secretFiles.flatMap(hide),
      // Every socket bound outside (but those kept): a read-only filesystem does not stop a connect().
      ...socketsNow({ workdir, keep: sandbox.sockets, homes, readable: readable.paths }).flatMap(hide),
      ...keptSockets.flatMap((p) => ['--bind', p, p]),
      ...(keepSshAgent ? [] : ['--unsetenv', 'SSH_AUTH_SOCK']),
      '--bind',
      home,
      home,
      ...writable.flatMap((p) => (existsSync(p) ? ['--bind', p, p] : [])),
      '--bind',
      bound?.source ?? workdir,
      workdir,
      ...(bound?.through ?? []).flatMap((p) => ['--bind', p, p]),
      // The event store is never visible, even when it lives inside the working directory; nor
      // are the tasks' views (their unfinished files).
      ...[store, views].flatMap((p) => (existsSync(p) ? ['--tmpfs', p] : [])),
      // What runs later, outside the sandbox, cannot be planted: git's hooks and config (run by
      // git), the tool's own config (read by the next run); read-only unless sandbox.writable names it.
      ...[...gitControlFiles(workdir), ...configFiles(workdir).filter((p) => existsSync(p))]
        .filter((p) => !writable.includes(p))
        .flatMap((p) => ['--ro-bind', p, p]),
      '--setenv',
      'HOME',
      home,
      ...fromRealHome,
      '--chdir',
      workdir,
      '--unshare-pid',
      '--die-with-parent',
      // "outbound" is a namespace entered before bwrap starts (network.enter).
      ...(network.mode === 'none' ? ['--unshare-net'] : []),
    ],
  };
}

/**
 * What runs before `bash -c COMMAND`: the command's cgroup, its network namespace, bubblewrap,
 * then its rlimits (set inside bwrap's user namespace, where the process count is its own).
 */
export function commandPrefix(
  c: Confinement,
  workdir: string,
  limits: Limits,
  group?: CommandGroup,
  /** Enters the task's view (src/workspace/view.ts), inside the network namespace its holder was started in. */
  view: readonly string[] = [],
  /** The task's copy, bound at the working directory's path. */
  bound?: Bound,
): string[] {
  const confined = c.kind === 'bwrap';
  return [
    ...(group?.wrapper ?? []),
    ...(confined ? viewHolderPrefix(c) : []),
    ...view,
    ...(confined ? ['bwrap', ...c.args(workdir, bound)] : []),
    ...(c.prlimit ? prlimitArgs(limits, { processes: confined, memory: group === undefined }) : []),
  ];
}

/** What a task view's holder runs in: the network namespace its commands enter, so that they may enter it after. */
export const viewHolderPrefix = (c: Confinement): string[] =>
  c.kind === 'bwrap' && c.network.mode === 'outbound' ? c.network.enter : [];

let warned = false;
function warnOnce(warn: (message: string) => void, message: string) {
  if (warned) return;
  warned = true;
  warn(message);
}

/**
 * The credentials a command must not read: the files NATS_PASSWORD_FILE and NATS_CREDS name, and
 * the folder of a credentials file that `cluster init` wrote, whose node configs hold every
 * password (the route's too).
 */
export function secretsOf(env: NodeJS.ProcessEnv, exists: (path: string) => boolean = existsSync): string[] {
  const files = [env.NATS_PASSWORD_FILE, env.NATS_CREDS].filter((f): f is string => !!f);
  const clusterFolders = files.map((f) => dirname(resolve(f))).filter((d) => exists(join(d, AUTH_CONF_FILE)));
  return [...files, ...clusterFolders];
}

/** Where a command may write under this confinement: what the deny list checks paths against. */
export function writeScope(c: Confinement, workdir: string): WriteScope {
  return c.kind === 'bwrap' ? { workdir, writable: ['/tmp', c.home, ...c.writable], homeWritable: true } : { workdir };
}

/** Where the tasks' copy-on-write views live (src/workspace/view.ts): `<stateDir>/views/<run>/<task>`. */
export const viewsDir = (stateDir: string): string => resolve(stateDir, 'views');

/** What CommandStarted records of the confinement in force. */
export function describeConfinement(c: Confinement): string {
  return c.kind === 'bwrap'
    ? `bwrap (read-only except the working directory, network ${c.network.mode})`
    : `none: ${c.why}`;
}

const READ_ONLY = /^.*\b(?:Read-only file system|EROFS)\b.*$/im;
/** The path a tool names in that line: quoted (`touch: cannot touch 'x'`) or bare and absolute. */
// \u2018 \u2019: typographic quotes, escaped: the bundle is ASCII (scripts/build.mjs).
const NAMED_PATH = /'([^']+)'|"([^"]+)"|\u2018([^\u2019]+)\u2019|(\/[^\s:,'"]+)/;

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
