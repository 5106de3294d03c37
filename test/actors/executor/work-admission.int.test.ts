import { access, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executorActor } from '../../../src/actors/executor/actor.ts';
import { executorPorts } from '../../../src/host/executor-ports.ts';
import { runActor } from '../../../src/host/run-actor.ts';
import { openRuntime, type NatsRuntime } from '../../../src/host/runtime.ts';
import { loadConfig } from '../../../src/config.ts';
import type { ExecuteTask } from '../../../src/events/work-commands.ts';
import { explicitPlan } from '../../../src/plan/explicit-plan.ts';
import { parseTasks } from '../../../src/tasklist/tasks-parser.ts';
import { forbiddenWorkdir } from '../../../src/workspace/workdir-guard.ts';
import { runCli } from '../../helpers/cli.ts';
import { natsPerSuite } from '../../helpers/nats.ts';
import { runStartedEvent } from '../../helpers/run-events.ts';

/**
 * The attack: anyone who can publish on the work queue sends the executor an item naming a run
 * and a folder of their choosing. The executor believes only the log: the run must be recorded,
 * the folder must be the one its RunStarted names, and never the root, a home or a system folder.
 */
const server = natsPerSuite();
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-admit-'));
  dirs.push(dir);
  return dir;
}

const item = (runId: string, workdir: string): ExecuteTask => ({
  runId,
  taskId: '1',
  workdir,
  plan: explicitPlan(parseTasks('- [ ] 1. X\n  ```bash\n  touch ran\n  ```')[0]!),
  planEventId: `${runId}:1:PlanCreated`,
  llm: 'offline',
  commandConcurrency: 1,
  generation: 0,
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function executorOn(url: string) {
  const warnings: string[] = [];
  const log = { info: () => {}, warn: (m: string) => warnings.push(m), error: () => {} };
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', env: {} });
  const rt: NatsRuntime = await openRuntime(url, config, 'admission-test', log);
  const executor = await runActor(rt, executorActor(executorPorts));
  return { rt, warnings, stop: () => executor.stop().then(() => rt.close()) };
}

describe('the executor believes only the log', () => {
  it('runs an item of a recorded run in its own folder (the control), and refuses one of a run not recorded', async () => {
    const { rt, warnings, stop } = await executorOn(server.url);
    try {
      const ours = await folder();
      await rt.store.append(runStartedEvent('real1', ours));
      await rt.work.publish('executor', 'execute', item('real1', ours), 'exec:real1:1:g0');
      await expect.poll(() => exists(join(ours, 'ran')), { timeout: 30_000 }).toBe(true);

      const target = await folder();
      await rt.work.publish('executor', 'execute', item('ghost', target), 'exec:ghost:1:g0');
      await expect
        .poll(() => warnings.find((w) => w.includes('run ghost is not recorded')), { timeout: 30_000 })
        .toBeDefined();
      expect(await exists(join(target, 'ran'))).toBe(false);
      expect(await rt.store.readRun('ghost')).toEqual([]);
    } finally {
      await stop();
    }
  });

  it('refuses an item naming another folder than its run: nothing runs, and the task fails saying why', async () => {
    const { rt, stop } = await executorOn(server.url);
    try {
      const [ours, outside] = [await folder(), await folder()];
      await rt.store.append(runStartedEvent('real2', ours));
      await rt.work.publish('executor', 'execute', item('real2', outside), 'exec:real2:1:g0');
      await expect
        .poll(async () => (await rt.store.readRun('real2')).find((e) => e.type === 'TaskFailed'), { timeout: 30_000 })
        .toMatchObject({ data: { stage: 'policy', reason: expect.stringContaining(`not the run's (${ours})`) } });
      const types = (await rt.store.readRun('real2')).map((e) => e.type);
      expect(types).not.toContain('CommandStarted');
      expect(await exists(join(outside, 'ran'))).toBe(false);
      expect(await exists(join(ours, 'ran'))).toBe(false);
    } finally {
      await stop();
    }
  });

  it('refuses a run recorded in a system folder (through a symlink), whatever its RunStarted says', async () => {
    const { rt, stop } = await executorOn(server.url);
    // Should the guard ever fail, the file it wrote is taken away again (only one this test made).
    const hadOne = await exists('/etc/ran');
    try {
      const link = join(await folder(), 'etc-link');
      await symlink('/etc', link);
      await rt.store.append(runStartedEvent('sys', link));
      await rt.work.publish('executor', 'execute', item('sys', link), 'exec:sys:1:g0');
      await expect
        .poll(async () => (await rt.store.readRun('sys')).find((e) => e.type === 'TaskFailed'), { timeout: 30_000 })
        .toMatchObject({ data: { reason: expect.stringContaining('/etc is a system folder') } });
      expect(await exists('/etc/ran')).toBe(hadOne);
    } finally {
      if (!hadOne) await rm('/etc/ran', { force: true });
      await stop();
    }
  });
});

describe('run refuses a working directory no command should write', () => {
  it.each(['/', '/root', '/etc', '/usr/lib'])('%s: exit 2, naming it', async (dir) => {
    const tasks = join(await folder(), 'tasks.md');
    await writeFile(tasks, '- [ ] 1. X\n  ```bash\n  true\n  ```\n');
    const { result } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`refusing to run in ${dir}`);
  });

  it('names homes and system folders, not project folders beneath them', () => {
    expect(forbiddenWorkdir('/home/ann', [])).toMatch(/home folder/);
    expect(forbiddenWorkdir('/work/me/', ['/work/me'])).toMatch(/home folder/);
    expect(forbiddenWorkdir('/var', [])).toMatch(/system folder/);
    expect(forbiddenWorkdir('/proc/self/cwd', [])).toMatch(/inside the system folder \/proc/);
    expect(forbiddenWorkdir('/home/ann/project', ['/home/ann'])).toBeUndefined();
    expect(forbiddenWorkdir('/var/www/site', [])).toBeUndefined();
    expect(forbiddenWorkdir('/tmp/ia-x', [])).toBeUndefined();
  });
});
