import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { StoredEvent } from '../../src/events/agent-events.ts';
import { CONFIG_FILE } from '../../src/file-names.ts';
import type { ConfigOverrides } from '../../src/config.ts';
import { afterAll } from 'vitest';
import { CLI } from './cli.ts';

/** `n` independent tasks (`Depends:` with nothing), task i running `command(i)`. */
export const independentTasks = (n: number, command: (i: number) => string): string =>
  Array.from(
    { length: n },
    (_, k) => `- [ ] ${k + 1}. Task ${k + 1}\n  - Depends:\n  \`\`\`bash\n  ${command(k + 1)}\n  \`\`\``,
  ).join('\n');

/** Temporary folders, removed by `cleanup`. */
export function tempDirs() {
  const made: string[] = [];
  return {
    async make(prefix: string): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    cleanup: () => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))),
  };
}

/**
 * The CLI against a suite's server, and executor processes standing for sites: each its own
 * folder (its own state, removed after the suite), `slots` tasks at once, a beat every 500 ms.
 */
export function suiteSites(server: { readonly url: string }) {
  const dirs = tempDirs();
  afterAll(() => dirs.cleanup());
  const cli = (args: string[], cwd?: string) =>
    execa(process.execPath, [CLI, ...args], {
      reject: false,
      env: { NATS_URL: server.url, NO_COLOR: '1' },
      ...(cwd ? { cwd } : {}),
    });
  const site = async (name: string, slots: number): Promise<{ process: ResultPromise }> => {
    const dir = await dirs.make(`ia-site-${name}-`);
    const config = { site: { name, labels: [], heartbeatMs: 500 }, execution: { taskConcurrency: slots } };
    await writeFile(join(dir, CONFIG_FILE), JSON.stringify(config));
    return { process: cli(['actor', 'executor', '--site', name], dir) };
  };
  return { cli, site };
}

/** Ends the process groups of the commands these CommandStarted events name (a site killed left them running): those already gone are passed over. */
export function endCommandGroups(started: readonly StoredEvent[]): void {
  for (const e of started)
    if (e.type === 'CommandStarted' && e.data.pgid)
      try {
        process.kill(-e.data.pgid, 'SIGKILL');
      } catch {
        // Already gone.
      }
}

/** A git clone of the user's project in `parent`/clone: a README and the list committed. */
export async function clone(parent: string, tasks: string): Promise<string> {
  const dir = join(parent, 'clone');
  await mkdir(dir);
  const git = (...args: string[]) => execa('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
  await git('init', '-q');
  await writeFile(join(dir, 'README.md'), '# a project\n');
  await writeFile(join(dir, '.gitignore'), '.implement-agent/\n');
  await writeFile(join(dir, 'tasks.md'), tasks);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'base');
  return dir;
}

/** Every file under `dir` but git's and the tool's own, with its bytes. */
export async function tree(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (!rel && (e.name === '.git' || e.name === '.implement-agent')) continue;
    if (e.isDirectory()) Object.assign(out, await tree(dir, path));
    else out[path] = (await readFile(join(dir, path))).toString('base64');
  }
  return out;
}

/** The tasks the clone's commits name (their Implement-Agent-Task trailer), sorted. */
export async function committedTasks(dir: string): Promise<string[]> {
  const log = await execa('git', ['-C', dir, 'log', '--format=%(trailers:key=Implement-Agent-Task,valueonly)']);
  return log.stdout.split('\n').filter(Boolean).sort();
}

export type Site = { name: string; dir: string; process: ResultPromise };

/**
 * An executor process standing for a site on another machine: its own folder, HOME and state,
 * connected to `url`, in a mount namespace where a tmpfs over `hidden` (the user's clone's parent)
 * makes the submitter's path not exist.
 */
export async function startSite(options: {
  name: string;
  url: string;
  hidden: string;
  dir: string;
  config?: ConfigOverrides;
  /** More of its environment: its credentials (NATS_CREDS), a JetStream domain (NATS_DOMAIN). */
  env?: Record<string, string>;
}): Promise<Site> {
  const { name, dir } = options;
  await writeFile(
    join(dir, CONFIG_FILE),
    JSON.stringify({ ...options.config, site: { name, labels: [], heartbeatMs: 500 } }),
  );
  const process_ = execa(
    'unshare',
    [
      '-Urm',
      'sh',
      '-c',
      'mount -t tmpfs none "$0" && exec "$@"',
      options.hidden,
      process.execPath,
      CLI,
      'actor',
      'executor',
      '--site',
      name,
    ],
    { reject: false, cwd: dir, env: { ...options.env, NATS_URL: options.url, NO_COLOR: '1', HOME: dir } },
  );
  return { name, dir, process: process_ };
}

/** Ends the sites' executors and waits for them. */
export async function stopSites(sites: readonly Site[]): Promise<void> {
  for (const s of sites) s.process.kill('SIGTERM');
  await Promise.all(sites.map((s) => s.process));
}
