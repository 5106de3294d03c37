import { readFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/events/agent-events.ts';
import { EventStore } from '../../src/nats/event-store.ts';
import { connectNats } from '../../src/nats/connection.ts';
import { CLI, workspaces } from '../helpers/cli.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { actorNames } from '../../src/events/subjects.ts';

/** Bounded soak: 500 tasks through 4 executor processes; throughput, memory growth, lost events. */
const TASKS = Number(process.env.IA_SOAK_TASKS ?? 500);
const server = natsPerSuite();
const ws = workspaces();
afterAll(() => ws.cleanup());

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

describe('soak', () => {
  it(`${TASKS} tasks, 4 executors: nothing lost`, { timeout: 600_000 }, async () => {
    const tasks = Array.from(
      { length: TASKS },
      (_, i) =>
        `- [ ] ${i + 1}. Task ${i + 1}\n  - Depends:\n  \`\`\`bash\n  echo ${i + 1} > out-${i + 1}.txt\n  \`\`\``,
    ).join('\n');
    const { dir, tasks: file } = await ws.make(tasks);
    const env = { NATS_URL: server.url };
    const processes: ResultPromise[] = [
      ...actorNames
        .filter((n) => n !== 'executor')
        .map((n) => execa(process.execPath, [CLI, 'actor', n], { env, reject: false })),
      ...[1, 2, 3, 4].map(() => execa(process.execPath, [CLI, 'actor', 'executor'], { env, reject: false })),
    ];
    const executors = processes.slice(4);
    try {
      const nc = await connectNats(server.url, 'soak');
      await expect
        .poll(
          async () =>
            nc.request('agent.ctl.executor.ping', undefined, { timeout: 300 }).then(
              () => true,
              () => false,
            ),
          { timeout: 30_000 },
        )
        .toBe(true);
      await new Promise((r) => setTimeout(r, 3000));
      const rssBefore = await Promise.all(executors.map((p) => rssKiB(p.pid!)));
      const started = performance.now();
      const result = await execa(
        process.execPath,
        [CLI, 'run', file, '--workdir', dir, '--task-concurrency', '8', '--json'],
        { env, reject: false, timeout: 540_000 },
      );
      const seconds = (performance.now() - started) / 1000;
      const rssAfter = await Promise.all(executors.map((p) => rssKiB(p.pid!)));
      expect(result.exitCode, result.stderr).toBe(0);
      const printed = result.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as StoredEvent);
      const stored = await (await EventStore.open(nc)).readRun(printed[0]!.runId);
      // Per task: TaskSubmitted, PlanCreated, CommandStarted, CommandFinished, TaskCompleted.
      const expected = 2 + TASKS * 5;
      const lost = expected - new Set(stored.map((e) => e.id)).size;
      const growth = rssAfter.reduce((a, b) => a + b, 0) - rssBefore.reduce((a, b) => a + b, 0);
      process.stdout.write(
        `\nsoak: ${TASKS} tasks in ${seconds.toFixed(1)} s (${(TASKS / seconds).toFixed(1)} tasks/s), ${stored.length} events, ` +
          `lost ${lost}, executor RSS ${rssBefore.map((k) => (k / 1024).toFixed(0)).join('/')} -> ${rssAfter.map((k) => (k / 1024).toFixed(0)).join('/')} MiB (growth ${(growth / 1024).toFixed(1)} MiB)\n`,
      );
      expect(lost).toBe(0);
      expect(stored).toHaveLength(expected);
      await nc.close();
    } finally {
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes);
    }
  });
});
