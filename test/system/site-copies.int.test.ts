import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_FILE } from '../../src/file-names.ts';
import { eventSubjects } from '../../src/events/subjects.ts';
import { ofType, runCli, CLI } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { testRuntime } from '../helpers/runtime.ts';

const server = natsPerSuite();
const made: string[] = [];
afterAll(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

const temp = async (prefix: string) => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};

const TASKS = 30;
const list = Array.from(
  { length: TASKS },
  // `Depends:` with nothing: independent (a task depends on the one before it otherwise).
  (_, i) =>
    `- [ ] ${i + 1}. Task ${i + 1}\n  - Depends:\n  \`\`\`bash\n  echo "task ${i + 1}" > t${i + 1}.txt\n  \`\`\``,
).join('\n');

/** A git clone of the user's project in a folder of its own: a README committed, the list beside it. */
async function clone(parent: string): Promise<string> {
  const dir = join(parent, 'clone');
  await mkdir(dir);
  const git = (...args: string[]) => execa('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
  await git('init', '-q');
  await writeFile(join(dir, 'README.md'), '# a project\n');
  await writeFile(join(dir, '.gitignore'), '.implement-agent/\n');
  await writeFile(join(dir, 'tasks.md'), list);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'base');
  return dir;
}

/** Every file under `dir` but git's and the tool's own, with its bytes. */
async function tree(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (!rel && (e.name === '.git' || e.name === '.implement-agent')) continue;
    if (e.isDirectory()) Object.assign(out, await tree(dir, path));
    else out[path] = (await readFile(join(dir, path))).toString('base64');
  }
  return out;
}

/**
 * An executor process standing for a site on another machine: its own folder, HOME and state,
 * in a mount namespace where a tmpfs over `hidden` (the user's clone's parent) makes the
 * submitter's path not exist.
 */
async function site(name: string, hidden: string): Promise<{ dir: string; process: ResultPromise }> {
  const dir = await temp(`ia-site-${name}-`);
  await writeFile(join(dir, CONFIG_FILE), JSON.stringify({ site: { name, labels: [], heartbeatMs: 500 } }));
  // Wrapped: a process is a promise, which `await` would wait out.
  const process_ = execa(
    'unshare',
    [
      '-Urm',
      'sh',
      '-c',
      'mount -t tmpfs none "$0" && exec "$@"',
      hidden,
      process.execPath,
      CLI,
      'actor',
      'executor',
      '--site',
      name,
    ],
    { reject: false, cwd: dir, env: { NATS_URL: server.url, NO_COLOR: '1', HOME: dir } },
  );
  return { dir, process: process_ };
}

describe('sites materialise the project and change sets come home', () => {
  it('a run of 30 tasks over two sites that cannot see the clone leaves it as a one-site run does, one commit per task', async () => {
    const env = { NATS_URL: server.url };
    // The reference: the same list, run on this machine alone (no site up yet).
    const reference = await clone(await temp('ia-ref-'));
    const one = await runCli(['run', 'tasks.md'], env, reference);
    expect(one.result.exitCode, one.result.stderr).toBe(0);

    const home = await temp('ia-home-');
    const user = await clone(home);
    const sites = [await site('east', home), await site('west', home)];
    const rt = await testRuntime(server.url);
    try {
      await expect
        .poll(
          async () => new Set((await rt.store.read({ subject: eventSubjects.sites() })).map((e) => e.taskId)).size,
          {
            timeout: 60_000,
          },
        )
        .toBe(2);
      const { result, events } = await runCli(['run', 'tasks.md', '--commit'], env, user);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'TaskCompleted')).toHaveLength(TASKS);
      // Spread over both sites; each wrote in its own copy of the project, under its own state folder.
      const ranAt = new Set(ofType(events, 'CommandStarted').map((e) => e.data.site));
      expect([...ranAt].sort()).toEqual(['east', 'west']);
      const runId = events[0]!.runId;
      for (const s of sites) {
        const copy = await readdir(join(s.dir, '.implement-agent', 'projects', runId));
        expect(copy.filter((f) => /^t\d+\.txt$/.test(f)).length).toBeGreaterThan(0);
      }
      expect(await tree(user)).toEqual(await tree(reference));
      expect((await readFile(join(user, 'tasks.md'), 'utf8')).match(/- \[x\]/g)).toHaveLength(TASKS);
      const log = await execa('git', ['-C', user, 'log', '--format=%(trailers:key=Implement-Agent-Task,valueonly)']);
      const committed = log.stdout.split('\n').filter(Boolean);
      expect(committed.sort()).toEqual(Array.from({ length: TASKS }, (_, i) => String(i + 1)).sort());
    } finally {
      await rt.close();
      for (const s of sites) s.process.kill('SIGTERM');
      await Promise.all(sites.map((s) => s.process));
    }
  }, 400_000);

  it('a task at one site starts from the tree its dependency left at the other, and both change sets come home', async () => {
    const home = await temp('ia-home-');
    const user = await clone(home);
    await writeFile(
      join(user, 'tasks.md'),
      [
        '- [ ] 1. Write\n  - Site: east\n  ```bash\n  echo from-east > a.txt\n  ```',
        '- [ ] 2. Read\n  - Depends: 1\n  - Site: west\n  ```bash\n  cat a.txt > b.txt && echo at-west >> b.txt\n  ```',
      ].join('\n'),
    );
    const sites = [await site('east', home), await site('west', home)];
    try {
      const { result, events } = await runCli(['run', 'tasks.md'], { NATS_URL: server.url }, user);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(ofType(events, 'CommandStarted').map((e) => [e.taskId, e.data.site])).toEqual([
        ['1', 'east'],
        ['2', 'west'],
      ]);
      expect(await readFile(join(user, 'a.txt'), 'utf8')).toBe('from-east\n');
      expect(await readFile(join(user, 'b.txt'), 'utf8')).toBe('from-east\nat-west\n');
    } finally {
      for (const s of sites) s.process.kill('SIGTERM');
      await Promise.all(sites.map((s) => s.process));
    }
  }, 300_000);
});
