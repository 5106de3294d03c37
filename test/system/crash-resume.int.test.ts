import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_STATUS, type RunStatus } from '../../src/projections/run-status.ts';
import { SnapshotStore } from '../../src/nats/snapshot-store.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { startFakeLlm } from '../helpers/fake-llm.ts';
import { connectNats, type NatsConnection } from '../../src/nats/connection.ts';
import { ofType, waitForActors, workspaces } from '../helpers/cli.ts';
import { startTestNats } from '../helpers/nats.ts';
import { actorNames } from '../../src/events/subjects.ts';
import {
  actorProcess,
  cliProcess,
  endLeftProcesses,
  eventsUntil,
  expectNoDuplicates,
  quickRedeliveryProject,
  runIdOf,
} from '../helpers/actor-runs.ts';

const ws = workspaces();
afterAll(() => ws.cleanup());
const of = ofType;
endLeftProcesses();
const project = (tasks: string, config?: Record<string, unknown>) => quickRedeliveryProject(ws, tasks, config);

/** Actors killed, stopped or left behind mid-run: the run finishes from the log, nothing recorded runs again. */
// Each test starts five actor processes and a CLI: on two loaded cores that alone can take most of
// the default 60 s. Their waits bound them (each condition waited for gives up after 60 s).
describe('crash and resume', { timeout: 180_000 }, () => {
  let server: Awaited<ReturnType<typeof startTestNats>>;
  let nc: NatsConnection;
  let store: EventStore;
  beforeAll(async () => {
    server = await startTestNats();
    nc = await connectNats(server.url, 'observer');
    store = await EventStore.open(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('an executor killed -9 during a command: the run finishes, recorded commands never rerun, the one in flight at most once more', async () => {
    const tasks = [
      '- [ ] 1. First\n  ```bash\n  echo one >> log.txt\n  ```',
      '- [ ] 2. Slow\n  ```bash\n  echo two-a >> log.txt\n  echo two-start >> log.txt; sleep 8; echo two-end >> log.txt\n  ```',
      '- [ ] 3. Last\n  ```bash\n  echo three >> log.txt\n  ```',
    ].join('\n');
    const { dir, tasks: file } = await project(tasks);
    const others = actorNames.filter((n) => n !== 'executor').map((n) => actorProcess(n, server.url, dir));
    let executor = actorProcess('executor', server.url, dir);
    try {
      await waitForActors(server.url);
      const run = cliProcess(['run', file, '--workdir', dir], {
        cwd: dir,
        env: { NATS_URL: server.url },
      });
      const runId = await runIdOf(store, file);
      await eventsUntil(store, runId, (es) =>
        of(es, 'CommandStarted').some((e) => e.taskId === '2' && e.data.commandId === 'c2'),
      );
      executor.kill('SIGKILL');
      await executor;
      executor = actorProcess('executor', server.url, dir);
      const result = await run;
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      const events = await store.readRun(runId);
      expectNoDuplicates(events);
      const lines = (await readFile(join(dir, 'log.txt'), 'utf8')).trim().split('\n');
      expect(lines.filter((l) => l === 'one')).toHaveLength(1);
      expect(lines.filter((l) => l === 'two-a')).toHaveLength(1);
      expect(lines.filter((l) => l === 'two-start').length).toBeGreaterThanOrEqual(1);
      expect(lines.filter((l) => l === 'two-start').length).toBeLessThanOrEqual(2);
      // The orphaned group of the dead executor was ended, so the first run of the command never finished.
      expect(lines.filter((l) => l === 'two-end')).toHaveLength(1);
      expect(lines.filter((l) => l === 'three')).toHaveLength(1);
      const c2 = of(events, 'CommandFinished').filter((e) => e.taskId === '2' && e.data.commandId === 'c2');
      expect(c2).toHaveLength(1);
      expect(c2[0]!.data.attempt).toBe(1);
      expect(of(events, 'TaskCompleted')).toHaveLength(3);
    } finally {
      for (const p of [...others, executor]) p.kill('SIGTERM');
      await Promise.all([...others, executor]);
    }
  });

  it('an executor stopped with SIGSTOP mid-command (hung, not dead): its work is redelivered, and when it wakes its late results are not recorded', async () => {
    const { dir, tasks: file } = await project(
      '- [ ] 1. Slow\n  ```bash\n  echo start >> log.txt; sleep 3; echo end >> log.txt\n  ```\n- [ ] 2. Next\n  ```bash\n  echo next >> log.txt\n  ```',
    );
    const others = actorNames.filter((n) => n !== 'executor').map((n) => actorProcess(n, server.url, dir));
    const hung = actorProcess('executor', server.url, dir);
    let said = '';
    hung.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    let second: ResultPromise | undefined;
    try {
      await waitForActors(server.url);
      const run = cliProcess(['run', file, '--workdir', dir], {
        cwd: dir,
        env: { NATS_URL: server.url },
      });
      const runId = await runIdOf(store, file);
      await eventsUntil(store, runId, (es) => of(es, 'CommandStarted').some((e) => e.taskId === '1'));
      hung.kill('SIGSTOP');
      second = actorProcess('executor', server.url, dir);
      const result = await run;
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      hung.kill('SIGCONT');
      // Awake, it finds it held the item past the ack wait, and records nothing of it.
      for (let i = 0; i < 600 && !said.includes('late results are not recorded'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(said).toContain('late results are not recorded');
      // What it would have recorded would follow RunFinished: nothing does.
      const events = await store.readRun(runId);
      expectNoDuplicates(events);
      expect(events.at(-1)!.type).toBe('RunFinished');
      const finished = of(events, 'CommandFinished').filter((e) => e.taskId === '1');
      expect(finished.map((e) => e.data.attempt)).toEqual([1]);
      expect(
        of(events, 'TaskCompleted')
          .map((e) => e.taskId)
          .sort(),
      ).toEqual(['1', '2']);
      expect(of(events, 'RecoveryAttempted')).toEqual([]);
    } finally {
      hung.kill('SIGCONT');
      for (const p of [...others, hung, ...(second ? [second] : [])]) p.kill('SIGTERM');
      await Promise.all([...others, hung, ...(second ? [second] : [])]);
    }
  });

  it('a coordinator killed between tasks: restarted from its run-status snapshot, it finishes the run without redoing a task', async () => {
    const { dir, tasks: file } = await project(
      [
        '- [ ] 1. A\n  ```bash\n  echo a >> log.txt; sleep 1\n  ```',
        '- [ ] 2. B\n  ```bash\n  echo b >> log.txt\n  ```',
        '- [ ] 3. C\n  ```bash\n  echo c >> log.txt\n  ```',
      ].join('\n'),
      { snapshots: { everyEvents: 3, everyMs: 60_000 } },
    );
    const others = ['decomposer', 'executor', 'recoverer', 'memory'].map((n) => actorProcess(n, server.url, dir));
    let coordinator = actorProcess('coordinator', server.url, dir);
    try {
      await waitForActors(server.url);
      const run = cliProcess(['run', file, '--workdir', dir], {
        cwd: dir,
        env: { NATS_URL: server.url },
      });
      const runId = await runIdOf(store, file);
      await eventsUntil(store, runId, (es) => of(es, 'CommandStarted').some((e) => e.taskId === '1'));
      coordinator.kill('SIGKILL');
      await coordinator;
      await eventsUntil(store, runId, (es) => of(es, 'TaskCompleted').some((e) => e.taskId === '1'));
      coordinator = actorProcess('coordinator', server.url, dir);
      const result = await run;
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      const events = await store.readRun(runId);
      expectNoDuplicates(events);
      expect(await readFile(join(dir, 'log.txt'), 'utf8')).toBe('a\nb\nc\n');
      expect((await readFile(file, 'utf8')).match(/\[x\]/g)).toHaveLength(3);
      const snapshot = await (await SnapshotStore.open(nc)).load<RunStatus>(RUN_STATUS.key(runId));
      expect(snapshot?.state).toMatchObject({ finished: 'succeeded', lastSeq: events.at(-1)!.seq });
    } finally {
      for (const p of [...others, coordinator]) p.kill('SIGTERM');
      await Promise.all([...others, coordinator]);
    }
  });

  it('a recoverer killed -9 during an attempt: the executor asks again, the restarted recoverer answers, the run finishes', async () => {
    const llm = await startFakeLlm({
      latencyMs: 2500,
      responder: () =>
        JSON.stringify({ diagnosis: 'flag missing', action: 'fix', commands: ['touch flag.ok'], retry: true }),
    });
    const { dir, tasks: file } = await project(
      '- [ ] 1. Needs a flag\n  ```bash\n  test -f flag.ok || { echo "E5: no flag" >&2; exit 5; }\n  ```\n',
      {
        llm: { timeoutMs: 3000, maxRetries: 0 },
        recovery: { requestTries: 6 },
      },
    );
    const env = { OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'k' };
    const others = ['coordinator', 'decomposer', 'executor', 'memory'].map((n) =>
      actorProcess(n, server.url, dir, env),
    );
    let recoverer = actorProcess('recoverer', server.url, dir, env);
    try {
      await waitForActors(server.url);
      const run = cliProcess(['run', file, '--workdir', dir, '--llm', 'openai'], {
        cwd: dir,
        env: { NATS_URL: server.url, ...env },
      });
      const runId = await runIdOf(store, file);
      await expect.poll(() => llm.requests.length, { timeout: 60_000, interval: 50 }).toBeGreaterThan(0);
      recoverer.kill('SIGKILL');
      await recoverer;
      recoverer = actorProcess('recoverer', server.url, dir, env);
      const result = await run;
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      const events = await store.readRun(runId);
      expectNoDuplicates(events);
      expect(of(events, 'RecoveryAttempted')).toHaveLength(1);
      expect(of(events, 'RecoveryResolved')[0]!.data).toMatchObject({ source: 'llm' });
      expect(of(events, 'RecoveryResolved')[0]!.data.durationMs).toBeGreaterThan(2500);
      expect(llm.requests.length).toBeGreaterThanOrEqual(2);
    } finally {
      for (const p of [...others, recoverer]) p.kill('SIGTERM');
      await Promise.all([...others, recoverer]);
      await llm.close();
    }
  });

  it('a run interrupted with Ctrl-C stays put when actors start later, until `resume` continues it', async () => {
    const { dir, tasks: file } = await project(
      [
        '- [ ] 1. One\n  ```bash\n  echo one >> log.txt\n  ```',
        '- [ ] 2. Slow\n  ```bash\n  echo two-start >> log.txt; sleep 4; echo two-end >> log.txt\n  ```',
        '- [ ] 3. Three\n  ```bash\n  echo three >> log.txt\n  ```',
      ].join('\n'),
    );
    const run = cliProcess(['run', file, '--workdir', dir], {
      cwd: dir,
      env: { NATS_URL: server.url },
    });
    const runId = await runIdOf(store, file);
    await eventsUntil(store, runId, (es) => of(es, 'CommandStarted').some((e) => e.taskId === '2'));
    run.kill('SIGINT');
    const interrupted = await run;
    expect(interrupted.exitCode).toBe(130);
    expect(interrupted.stderr).toContain(`implement-agent resume ${runId}`);
    expect(of(await store.readRun(runId), 'RunInterrupted')).toHaveLength(1);

    const actors = actorNames.map((n) => actorProcess(n, server.url, dir));
    try {
      await waitForActors(server.url);
      // Longer than the work ack wait: anything left in the queue would have come back by now.
      await new Promise((r) => setTimeout(r, 3500));
      const paused = await store.readRun(runId);
      expect(paused.at(-1)!.type).not.toBe('RunFinished');
      expect(await readFile(join(dir, 'log.txt'), 'utf8')).not.toContain('three');

      const resumed = await cliProcess(['resume', runId], {
        cwd: dir,
        env: { NATS_URL: server.url, NO_COLOR: '1' },
        timeout: 60_000,
      });
      expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
      const events = await store.readRun(runId);
      expectNoDuplicates(events);
      expect(of(events, 'RunResumed').map((e) => e.data.generation)).toEqual([1]);
      expect(
        of(events, 'TaskCompleted')
          .map((e) => e.taskId)
          .sort(),
      ).toEqual(['1', '2', '3']);
      const lines = (await readFile(join(dir, 'log.txt'), 'utf8')).trim().split('\n');
      expect(lines.filter((l) => l === 'one')).toHaveLength(1);
      expect(lines.filter((l) => l === 'two-end')).toHaveLength(1);
      expect(lines.filter((l) => l === 'three')).toHaveLength(1);
    } finally {
      for (const p of actors) p.kill('SIGTERM');
      await Promise.all(actors);
    }
  });

  it('a run whose CLI died (with the actors it hosted) is finished by `resume`', async () => {
    const { dir, tasks: file } = await project(
      [
        '- [ ] 1. A\n  ```bash\n  echo a >> log.txt\n  ```',
        '- [ ] 2. B\n  ```bash\n  echo b >> log.txt; sleep 2\n  ```',
        '- [ ] 3. C\n  ```bash\n  echo c >> log.txt\n  ```',
      ].join('\n'),
    );
    const run = cliProcess(['run', file, '--workdir', dir], {
      cwd: dir,
      env: { NATS_URL: server.url },
    });
    const runId = await runIdOf(store, file);
    await eventsUntil(store, runId, (es) => of(es, 'CommandStarted').some((e) => e.taskId === '2'));
    run.kill('SIGKILL');
    await run;
    const resumed = await cliProcess(['resume', runId], {
      cwd: dir,
      env: { NATS_URL: server.url, NO_COLOR: '1' },
      timeout: 60_000,
    });
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/run succeeded: 3 completed/);
    const events = await store.readRun(runId);
    expectNoDuplicates(events);
    const lines = (await readFile(join(dir, 'log.txt'), 'utf8')).trim().split('\n');
    expect(lines.filter((l) => l === 'a')).toHaveLength(1);
    expect(lines.filter((l) => l === 'c')).toHaveLength(1);
    expect(of(events, 'RunFinished')).toHaveLength(1);
  });
});
