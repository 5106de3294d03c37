import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { EventStore } from '../../src/nats/event-store.ts';
import { connectNats } from '../../src/nats/connection.ts';
import { CLI, ofType, workspaces } from '../helpers/cli.ts';
import { startTestNats } from '../helpers/nats.ts';
import { eventsUntil, expectNoDuplicates, quickRedeliveryProject, runIdOf } from '../helpers/actor-runs.ts';

const ws = workspaces();
afterAll(() => ws.cleanup());
const of = ofType;
const project = (tasks: string, config?: Record<string, unknown>) => quickRedeliveryProject(ws, tasks, config);

/** The nats-server restarted or killed under a run: clients reconnect, nothing acknowledged is lost or doubled. */
describe('NATS faults', () => {
  it('nats-server restarted during a run: clients reconnect, the run finishes, nothing is lost', async () => {
    const first = await startTestNats({ keep: true });
    const port = Number(new URL(first.url).port);
    let second: Awaited<ReturnType<typeof startTestNats>> | undefined;
    try {
      const { dir, tasks: file } = await project(
        [
          '- [ ] 1. A\n  ```bash\n  echo a >> log.txt; sleep 1.5\n  ```',
          '- [ ] 2. B\n  ```bash\n  echo b >> log.txt\n  ```',
        ].join('\n'),
      );
      const run = execa(process.execPath, [CLI, 'run', file, '--workdir', dir, '--json'], {
        cwd: dir,
        env: { NATS_URL: first.url },
        reject: false,
      });
      const nc1 = await connectNats(first.url, 'observer');
      const store1 = await EventStore.open(nc1);
      const runId = await runIdOf(store1, file);
      // Stopped while task 1's command runs, so the run has work on both sides of the restart.
      await eventsUntil(store1, runId, (es) => of(es, 'CommandStarted').some((e) => e.taskId === '1'));
      await nc1.close();
      await first.stop();
      second = await startTestNats({ port, dir: first.dir });
      const result = await run;
      expect(result.exitCode, result.stderr).toBe(0);
      const nc2 = await connectNats(second.url, 'observer');
      const events = await (await EventStore.open(nc2)).readRun(runId);
      await nc2.close();
      expectNoDuplicates(events);
      expect(of(events, 'TaskCompleted')).toHaveLength(2);
      expect(events.at(-1)!.type).toBe('RunFinished');
      expect(await readFile(join(dir, 'log.txt'), 'utf8')).toBe('a\nb\n');
    } finally {
      await second?.stop();
      await rm(first.dir, { recursive: true, force: true });
    }
  });
});

describe('NATS killed outright', () => {
  it('nats-server killed with SIGKILL mid-run and started again: after resume the run finishes, no event lost or doubled', async () => {
    const first = await startTestNats({ keep: true });
    const port = Number(new URL(first.url).port);
    let second: Awaited<ReturnType<typeof startTestNats>> | undefined;
    try {
      const { dir, tasks: file } = await project(
        [
          '- [ ] 1. A\n  ```bash\n  echo a >> log.txt; sleep 1.5\n  ```',
          '- [ ] 2. B\n  ```bash\n  echo b >> log.txt\n  ```',
          '- [ ] 3. C\n  ```bash\n  echo c >> log.txt\n  ```',
        ].join('\n'),
      );
      const run = execa(process.execPath, [CLI, 'run', file, '--workdir', dir, '--json'], {
        cwd: dir,
        env: { NATS_URL: first.url },
        reject: false,
      });
      const nc1 = await connectNats(first.url, 'observer');
      const store1 = await EventStore.open(nc1);
      const runId = await runIdOf(store1, file);
      const before = await eventsUntil(store1, runId, (es) => of(es, 'CommandStarted').some((e) => e.taskId === '1'));
      await nc1.close().catch(() => undefined);
      // Not a clean stop: no flush, no goodbye to the clients.
      process.kill(first.pid, 'SIGKILL');
      // Its exit, awaited (its port is free again then); the store stays (`keep`).
      await first.stop();
      second = await startTestNats({ port, dir: first.dir });
      const result = await run;
      const resumed =
        result.exitCode === 0
          ? undefined
          : await execa(process.execPath, [CLI, 'resume', runId], {
              cwd: dir,
              env: { NATS_URL: second.url },
              reject: false,
              timeout: 60_000,
            });
      expect(resumed?.exitCode ?? result.exitCode, (resumed ?? result).stderr).toBe(0);
      const nc2 = await connectNats(second.url, 'observer');
      const events = await (await EventStore.open(nc2)).readRun(runId);
      await nc2.close();
      expectNoDuplicates(events);
      // Every event the first server had acknowledged is still there.
      for (const e of before) expect(events.find((x) => x.id === e.id)?.seq).toBe(e.seq);
      expect(
        of(events, 'TaskCompleted')
          .map((e) => e.taskId)
          .sort(),
      ).toEqual(['1', '2', '3']);
      expect(of(events, 'RunFinished')).toHaveLength(1);
      const lines = (await readFile(join(dir, 'log.txt'), 'utf8')).trim().split('\n');
      for (const l of ['b', 'c']) expect(lines.filter((x) => x === l)).toHaveLength(1);
      expect(lines.filter((x) => x === 'a').length).toBeLessThanOrEqual(2);
    } finally {
      await second?.stop();
      await rm(first.dir, { recursive: true, force: true });
    }
  });
});
