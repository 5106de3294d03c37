import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/events/agent-events.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { connectNats } from '../../src/nats/connection.ts';
import { waitForActors } from '../helpers/cli.ts';
import { REPO_ROOT, startTestNats } from '../helpers/nats.ts';

const CLI = join(REPO_ROOT, 'bin/implement-agent.js');
const EXAMPLE = join(REPO_ROOT, 'examples/greeter/tasks.md');

let server: Awaited<ReturnType<typeof startTestNats>>;
const dirs: string[] = [];

beforeAll(async () => {
  server = await startTestNats();
});
afterAll(async () => {
  await server?.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function workspace(): Promise<{ dir: string; tasks: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-run-'));
  dirs.push(dir);
  const tasks = join(dir, 'tasks.md');
  await writeFile(tasks, await readFile(EXAMPLE, 'utf8'));
  return { dir, tasks };
}

function cli(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    env: { NATS_URL: server.url, ...env },
    timeout: 90_000,
  });
}

async function runEvents(runId: string): Promise<StoredEvent[]> {
  const nc = await connectNats(server.url, 'inspect');
  try {
    return await (await EventStore.open(nc)).readRun(runId);
  } finally {
    await nc.close();
  }
}

/**
 * Event types per task in order, and the run-level ones: what must not depend on process layout.
 * TaskFilesChanged among them: tasks 3 and 4 run side by side, each in its own view (#36).
 */
function shape(events: StoredEvent[]) {
  const byTask: Record<string, string[]> = {};
  for (const e of events) (byTask[e.taskId ?? '_'] ??= []).push(e.type);
  return byTask;
}

async function runExample(env: Record<string, string> = {}) {
  const { dir, tasks } = await workspace();
  const result = await cli(['run', tasks, '--workdir', dir, '--json'], env);
  const events = result.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StoredEvent);
  return { dir, tasks, result, events };
}

describe('implement-agent run', () => {
  it('runs the example through actors in one process and in four processes alike', async () => {
    const single = await runExample();
    expect(single.result.exitCode, single.result.stderr).toBe(0);
    expect((await readFile(single.tasks, 'utf8')).match(/- \[x\]/g)).toHaveLength(5);
    expect(await readFile(join(single.dir, 'src/greet.js'), 'utf8')).toContain('Hello');
    const runId = single.events[0]!.runId;
    const stored = await runEvents(runId);
    expect(stored.map((e) => e.id)).toEqual(single.events.map((e) => e.id));
    expect(stored.at(-1)).toMatchObject({
      type: 'RunFinished',
      data: { status: 'succeeded', completed: ['1', '2', '3', '4', '5'] },
    });
    // A task's last step is in the log: its box ticked, recorded by the host that wrote it.
    const byTask = shape(stored);
    for (const id of ['1', '2', '3', '4', '5']) expect(byTask[id]!.at(-1), id).toBe('TaskTicked');
    expect(stored.find((e) => e.type === 'TaskTicked')).toMatchObject({ data: { tasksFile: single.tasks } });

    const actors: ResultPromise[] = ['coordinator', 'decomposer', 'executor', 'memory'].map((name) =>
      execa(process.execPath, [CLI, 'actor', name], { env: { NATS_URL: server.url }, reject: false }),
    );
    try {
      await waitForActors(server.url, ['coordinator', 'decomposer', 'executor', 'memory']);
      const split = await runExample();
      expect(split.result.exitCode, split.result.stderr).toBe(0);
      expect((await readFile(split.tasks, 'utf8')).match(/- \[x\]/g)).toHaveLength(5);
      expect(shape(split.events)).toEqual(shape(single.events));
      const splitStored = await runEvents(split.events[0]!.runId);
      expect(splitStored.map((e) => e.type)).toEqual(split.events.map((e) => e.type));
    } finally {
      for (const a of actors) a.kill('SIGTERM');
      await Promise.all(actors);
    }
  });

  it('exits 2 on a malformed tasks.md with file:line, executing nothing', async () => {
    const { dir, tasks } = await workspace();
    await writeFile(
      tasks,
      '- [ ] 1. Make a file\n  ```bash\n  touch made-it\n  ```\n- [ ] 1. Again\n- [ ] 2. After\n  - Depends: 1\n',
    );
    const result = await cli(['run', tasks, '--workdir', dir]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${tasks}:7: task 2: Depends: 1 is ambiguous: the tasks at lines 1 and 5`);
    await expect(access(join(dir, 'made-it'))).rejects.toThrow();
  });

  it('exits 1 when a task fails, skips its dependents, and leaves their boxes empty', async () => {
    const { dir, tasks } = await workspace();
    await writeFile(
      tasks,
      '- [ ] 1. Fail\n  ```bash\n  exit 3\n  ```\n- [ ] 2. After\n  ```bash\n  touch after\n  ```\n',
    );
    const result = await cli(['run', tasks, '--workdir', dir]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/1\. Fail failed \(recovery\): `exit 3` exited 3/);
    expect(result.stdout).toMatch(/2\. After skipped: task 1 did not complete/);
    expect(await readFile(tasks, 'utf8')).not.toContain('[x]');
    await expect(access(join(dir, 'after'))).rejects.toThrow();
  });

  it('exits 5 (infrastructure) with install advice when nats-server cannot be found and NATS_URL is unset', async () => {
    const { tasks } = await workspace();
    const result = await execa(process.execPath, [CLI, 'run', tasks], {
      reject: false,
      env: { NATS_URL: '', NATS_SERVER_BIN: '/nonexistent/nats-server' },
      extendEnv: true,
    });
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toMatch(/nats-server was not found.*apt-get install -y nats-server/);
  });
});
