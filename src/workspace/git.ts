import { execa } from 'execa';

/**
 * The git a task's changes are committed with, run on the host (not in the sandbox), never with
 * the repository's hooks (`--no-verify`): a commit holds exactly the paths it is given.
 */

const git = (workdir: string, args: string[], input?: string) =>
  execa('git', ['-C', workdir, ...args], {
    reject: false,
    stripFinalNewline: true,
    ...(input !== undefined ? { input } : {}),
    env: { GIT_TERMINAL_PROMPT: '0' },
  });

/** The working directory's path inside its repository (`''` at the top, `sub/` below), or undefined outside one. */
export async function repositoryPrefix(workdir: string): Promise<string | undefined> {
  const r = await git(workdir, ['rev-parse', '--show-prefix']).catch(() => undefined);
  return r && r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/**
 * The project a run names instead of a path, when the working directory is in a git repository
 * with a commit: its base commit, the folder within it, and its `origin` (else first) remote if any.
 */
export async function projectOf(workdir: string): Promise<ProjectRef | undefined> {
  const [head, prefix, remotes] = await Promise.all([
    git(workdir, ['rev-parse', '--verify', '-q', 'HEAD']).catch(() => undefined),
    repositoryPrefix(workdir),
    git(workdir, ['remote']).catch(() => undefined),
  ]);
  if (!head || head.exitCode !== 0 || prefix === undefined) return undefined;
  const names = remotes?.exitCode === 0 ? remotes.stdout.split('\n').filter(Boolean) : [];
  const name = names.includes('origin') ? 'origin' : names[0];
  const url = name ? await git(workdir, ['remote', 'get-url', name]).catch(() => undefined) : undefined;
  return {
    commit: head.stdout.trim(),
    prefix,
    ...(url?.exitCode === 0 && url.stdout.trim() ? { remote: url.stdout.trim() } : {}),
  };
}
export type ProjectRef = { commit: string; prefix: string; remote?: string };

/** Paths (relative to the working directory) with changes not committed: staged, unstaged or untracked. */
export async function dirtyPaths(workdir: string): Promise<string[]> {
  const prefix = (await repositoryPrefix(workdir)) ?? '';
  const r = await git(workdir, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  if (r.exitCode !== 0) throw new Error(`git status failed: ${r.stderr}`);
  const out: string[] = [];
  const fields = r.stdout.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.length < 4) continue;
    // A rename or copy is followed by its source path.
    if (f[0] === 'R' || f[0] === 'C') i++;
    const path = f.slice(3);
    if (path.startsWith(prefix)) out.push(path.slice(prefix.length));
  }
  return out;
}

export type CommitMessage = { title: string; body: string; trailers: Record<string, string> };

const formatMessage = (m: CommitMessage): string =>
  [
    m.title,
    m.body.trim(),
    Object.entries(m.trailers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  ]
    .filter((p) => p.length > 0)
    .join('\n\n') + '\n';

/**
 * Commits exactly `paths` (relative to the working directory) as they are in the working tree:
 * other staged changes stay staged and uncommitted. Returns the commit id, or undefined when
 * the paths hold nothing new.
 */
export async function commitPaths(
  workdir: string,
  paths: readonly string[],
  message: CommitMessage,
): Promise<string | undefined> {
  if (paths.length === 0) return undefined;
  const added = await git(workdir, ['add', '-A', '--', ...paths]);
  if (added.exitCode !== 0) throw new Error(`git add failed: ${added.stderr}`);
  const staged = await git(workdir, ['diff', '--cached', '--quiet', '--', ...paths]);
  if (staged.exitCode === 0) return undefined;
  const identity = (await git(workdir, ['config', 'user.email'])).stdout.trim()
    ? []
    : ['-c', 'user.name=implement-agent', '-c', 'user.email=implement-agent@localhost'];
  const committed = await git(
    workdir,
    [...identity, 'commit', '--no-verify', '--quiet', '-F', '-', '--only', '--', ...paths],
    formatMessage(message),
  );
  if (committed.exitCode !== 0) throw new Error(`git commit failed: ${committed.stderr || committed.stdout}`);
  return (await git(workdir, ['rev-parse', 'HEAD'])).stdout.trim();
}

/** Runs whose dirty paths one executor process keeps (the latest: older runs are likely over). */
const KEPT_RUNS = 4;

/** What was not committed when a run's first task started here: never committed by a task. */
export class DirtyPaths {
  private readonly runs = new Map<string, Promise<Set<string>>>();

  of(runId: string, workdir: string): Promise<Set<string>> {
    let dirty = this.runs.get(runId);
    if (!dirty) {
      dirty = dirtyPaths(workdir).then((p) => new Set(p));
      this.runs.set(runId, dirty);
      if (this.runs.size > KEPT_RUNS) this.runs.delete(this.runs.keys().next().value!);
    }
    return dirty;
  }
}
