import { afterAll, describe, expect, it } from 'vitest';
import type { EventOf, StoredEvent } from '../../../src/events/agent-events.ts';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { EventStore } from '../../../src/nats/event-store.ts';
import { connectNats } from '../../../src/nats/connection.ts';
import { CLI, runCli, workspaces } from '../../helpers/cli.ts';
import { natsPerSuite } from '../../helpers/nats.ts';

const server = natsPerSuite();
const ws = workspaces();
afterAll(() => ws.cleanup());

const finished = (events: StoredEvent[]) =>
  new Map(
    events
      .filter((e): e is EventOf<'CommandFinished'> & StoredEvent => e.type === 'CommandFinished')
      .map((e) => [e.data.commandId, e.data]),
  );
/** The first command result a task recorded. */
const firstResult = (events: StoredEvent[], taskId: string) =>
  events.find(
    (e): e is EventOf<'CommandFinished'> & StoredEvent => e.type === 'CommandFinished' && e.taskId === taskId,
  )!.data;
const interval = (d: { startedAt: string; durationMs: number }) =>
  [Date.parse(d.startedAt), Date.parse(d.startedAt) + d.durationMs] as const;

describe('executor through the actors', () => {
  it('overlaps independent commands and never overlaps dependent ones', async () => {
    const { dir, tasks } = await ws.make(
      [
        '- [ ] 1. Fan out and in',
        '  ```bash',
        '  sleep 0.6; echo 1 > one.txt',
        '  sleep 0.6; echo 2 > two.txt',
        '  cat one.txt two.txt > both.txt',
        '  ```',
        '  - Success: `cat both.txt` outputs 2',
      ].join('\n'),
    );
    const { result, events } = await runCli(['run', tasks, '--workdir', dir, '--command-concurrency', '3'], {
      NATS_URL: server.url,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const f = finished(events);
    const [a, b, c] = [interval(f.get('c1')!), interval(f.get('c2')!), interval(f.get('c3')!)];
    expect(a[0]).toBeLessThan(b[1]);
    expect(b[0]).toBeLessThan(a[1]);
    expect(c[0]).toBeGreaterThanOrEqual(Math.max(a[1], b[1]));
    expect(f.get('check1')).toMatchObject({ purpose: 'check', exitCode: 0 });
  });

  it('denies a command by policy: it never starts, and the task fails with the rule', async () => {
    const { dir, tasks } = await ws.make(
      '- [ ] 1. Escalate\n  ```bash\n  echo before > before.txt\n  sudo touch /root/owned\n  ```\n',
    );
    const { result, events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url });
    expect(result.exitCode).toBe(1);
    const denied = events.find((e) => e.type === 'CommandDenied');
    expect(denied).toMatchObject({ data: { commandId: 'c2', rule: 'privileged' } });
    expect(
      events.filter((e) => e.type === 'CommandStarted').map((e) => (e as EventOf<'CommandStarted'>).data.commandId),
    ).toEqual(['c1']);
    expect(events.find((e) => e.type === 'TaskFailed')).toMatchObject({ data: { stage: 'policy', commandId: 'c2' } });
  });

  it('fails a task whose success criterion does not hold, naming the criterion', async () => {
    const { dir, tasks } = await ws.make(
      '- [ ] 1. Claims too much\n  - Success: file missing.txt exists\n  ```bash\n  true\n  ```\n',
    );
    const { result, events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url });
    expect(result.exitCode).toBe(1);
    expect(events.find((e) => e.type === 'TaskFailed')).toMatchObject({
      data: { stage: 'verification', reason: 'success criterion not met: file missing.txt does not exist' },
    });
  });

  it('runs independent tasks side by side and stores large output in the object store', async () => {
    const { dir, tasks } = await ws.make(
      [
        '- [ ] 1. Slow A',
        '  ```bash\n  sleep 0.6; head -c 20000 /dev/zero | tr "\\0" a\n  ```',
        '- [ ] 2. Slow B',
        '  - Depends:',
        '  ```bash\n  sleep 0.6\n  ```',
      ].join('\n'),
    );
    const { result, events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url });
    expect(result.exitCode, result.stderr).toBe(0);
    const [x, y] = [interval(firstResult(events, '1')), interval(firstResult(events, '2'))];
    expect(x[0]).toBeLessThan(y[1]);
    expect(y[0]).toBeLessThan(x[1]);
    const big = firstResult(events, '1');
    expect(big.truncated).toBe(true);
    expect(big.outputRef).toMatch(/^agent_outputs\//);
  });

  it('runs a Spec Kit [P] group side by side, and the task after it once the whole group is done', async () => {
    const { dir, tasks } = await ws.make(
      [
        '## Phase 1: Setup',
        '- [ ] T001 Create the folder',
        '  ```bash\n  mkdir -p out\n  ```',
        '- [ ] T002 [P] Write A',
        '  ```bash\n  sleep 0.6; echo a > out/a\n  ```',
        '- [ ] T003 [P] Write B',
        '  ```bash\n  sleep 0.3; echo b > out/b\n  ```',
        '- [ ] T004 Join them',
        '  ```bash\n  cat out/a out/b > out/ab\n  ```',
      ].join('\n'),
    );
    const { result, events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url });
    expect(result.exitCode, result.stderr).toBe(0);
    const span = (taskId: string) => interval(firstResult(events, taskId));
    const [a, b, joined] = [span('T002'), span('T003'), span('T004')];
    expect(a[0]).toBeLessThan(b[1]);
    expect(b[0]).toBeLessThan(a[1]);
    expect(joined[0]).toBeGreaterThanOrEqual(Math.max(a[1], b[1]));
    expect(await readFile(join(dir, 'out/ab'), 'utf8')).toBe('a\nb\n');
    expect((await readFile(tasks, 'utf8')).match(/- \[x\] T00\d/g)).toHaveLength(4);
  });

  it('--dry prints each plan and its command graph with reasons, running and recording nothing', async () => {
    const { dir, tasks } = await ws.make(
      '- [ ] 1. Two writers and a reader\n  ```bash\n  echo a > a.txt\n  echo b > b.txt\n  cat a.txt b.txt > c.txt\n  ```\n- [ ] 2. Needs planning\n',
    );
    const nc = await connectNats(server.url, 'count');
    const store = await EventStore.open(nc);
    const before = (await store.state()).messages;
    const result = await execa(process.execPath, [CLI, 'run', tasks, '--workdir', dir, '--dry'], {
      reject: false,
      env: { NATS_URL: server.url, NO_COLOR: '1' },
    });
    expect(result.stdout).toContain('plan: explicit, 3 command(s)');
    expect(result.stdout).toMatch(/c2 +echo b > b.txt\n +no dependency: starts at once/);
    expect(result.stdout).toMatch(/after c1: reads what the earlier writes: a.txt/);
    expect(result.stdout).toMatch(
      /2\. Needs planning\n +cache miss: the cache is empty\n +cannot plan: .*LLM is offline/,
    );
    expect(result.exitCode).toBe(1);
    await expect(access(join(dir, 'a.txt'))).rejects.toThrow();
    expect((await store.state()).messages).toBe(before);
    await nc.close();
  });

  it('streams a heartbeat with the latest output line while a long command runs', async () => {
    const { dir, tasks } = await ws.make(
      '- [ ] 1. Slow\n  ```bash\n  for i in 1 2 3 4; do echo tick $i; sleep 0.4; done\n  ```\n',
    );
    await writeFile(join(dir, 'implement-agent.config.json'), JSON.stringify({ execution: { heartbeatMs: 300 } }));
    const { result, events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url }, dir);
    expect(result.exitCode, result.stderr).toBe(0);
    const beats = events.filter((e) => e.type === 'CommandHeartbeat') as (EventOf<'CommandHeartbeat'> & StoredEvent)[];
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats.at(-1)!.data.lastLine).toMatch(/^tick [34]$/);
    expect(beats.map((b) => b.data.elapsedMs)).toEqual([...beats.map((b) => b.data.elapsedMs)].sort((a, b) => a - b));
  });
});
