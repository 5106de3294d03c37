import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/nats.ts';

/**
 * The package as `npm install -g <tarball>` lays it out: the packed files in
 * PREFIX/lib/node_modules/implement-agent, the command in PREFIX/bin. Installing the tarball asks
 * the registry for its dependencies, which a test may not: the production dependencies of this
 * clone are mounted in its node_modules instead (devDependencies left out, so one missing from
 * `dependencies` fails here), and the clone itself is hidden, so nothing may read it.
 */
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

type Ran = { exitCode?: number; stdout: string; stderr: string };

async function install(): Promise<{ run: (args: string[], cwd: string, command?: string) => Promise<Ran> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-install-'));
  dirs.push(dir);
  const packed = await execa('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
    cwd: REPO_ROOT,
  });
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  const pkg = join(dir, 'lib', 'node_modules', 'implement-agent');
  await mkdir(pkg, { recursive: true });
  await execa('tar', ['xzf', join(dir, filename), '-C', pkg, '--strip-components=1']);
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await symlink(relative(bin, join(pkg, 'bin', 'implement-agent.js')), join(bin, 'implement-agent'));
  const binds: string[] = [];
  for (const name of await productionDependencies()) {
    await mkdir(join(pkg, 'node_modules', name), { recursive: true });
    binds.push('--ro-bind', join(REPO_ROOT, 'node_modules', name), join(pkg, 'node_modules', name));
  }
  const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, NO_COLOR: '1', NATS_URL: '' };
  return {
    run: (args, cwd, command = 'implement-agent') =>
      execa('bwrap', ['--dev-bind', '/', '/', ...binds, '--tmpfs', REPO_ROOT, '--chdir', cwd, command, ...args], {
        env,
        reject: false,
        timeout: 180_000,
      }),
  };
}

/** The top-level folders of node_modules that `npm ls` counts as production dependencies. */
async function productionDependencies(): Promise<string[]> {
  const listed = await execa('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO_ROOT, reject: false });
  const root = join(REPO_ROOT, 'node_modules') + '/';
  const names = listed.stdout
    .split('\n')
    .filter((p) => p.startsWith(root))
    .map((p) => {
      const [first = '', second = ''] = p.slice(root.length).split('/');
      return first.startsWith('@') ? `${first}/${second}` : first;
    });
  return [...new Set(names)];
}

describe('installed once, at home in any project', () => {
  it('the packed package runs a list in another repository, away from the clone; state at its root, out of git', async () => {
    const { run } = await install();
    const project = await mkdtemp(join(tmpdir(), 'ia-project-'));
    dirs.push(project);
    await mkdir(join(project, 'specs'));
    await writeFile(
      join(project, 'specs', 'tasks.md'),
      '- [ ] 1. Make the build folder\n  ```bash\n  mkdir -p build\n  echo built > build/out.txt\n  ```\n',
    );
    await execa('git', ['init', '-q'], { cwd: project });

    // Where the installed command runs, the clone is an empty folder.
    expect((await run(['-A', REPO_ROOT], project, 'ls')).stdout).toBe('');
    const first = await run(['run', 'specs/tasks.md'], project);
    expect(first.exitCode, `${first.stdout}\n${first.stderr}`).toBe(0);
    const runId = /^run (r\w+)/m.exec(first.stdout)![1]!;
    expect(await readFile(join(project, 'build', 'out.txt'), 'utf8')).toBe('built\n');
    expect(await readFile(join(project, '.implement-agent', '.gitignore'), 'utf8')).toBe('*\n');
    const status = await execa('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: project });
    expect(status.stdout.split('\n').sort()).toEqual(['?? build/out.txt', '?? specs/tasks.md']);

    const runs = await run(['runs'], join(project, 'specs'));
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(new RegExp(`^${runId} +succeeded +1/1 done`, 'm'));
    // The installed command runs from the sources (no bundle is packed): a slower start.
  }, 180_000);
});
