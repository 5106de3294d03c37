import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextLoader } from '../../../src/context/context-loader.ts';
import { compressContext } from '../../../src/context/compress.ts';
import { makeEvent } from '../../../src/events/agent-events.ts';
import { TASK_HISTORY, type TaskHistory } from '../../../src/projections/task-history.ts';
import { parseTasks } from '../../../src/tasklist/tasks-parser.ts';
import { CLI } from '../../helpers/cli.ts';
import { startTestNats } from '../../helpers/nats.ts';
import { testRuntime } from '../../helpers/runtime.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ia-mem-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('incremental context loading', () => {
  it('rereads nothing when nothing changed, and exactly the one file that did', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `f${i}.md`);
    await Promise.all(names.map((n) => writeFile(join(dir, n), `# ${n}\ncontent\n`)));
    const loader = new ContextLoader(dir, names);
    await loader.load();
    expect(loader.lastLoad).toEqual({ statted: 20, read: 20, changed: 20 });
    const before = loader.checksum();
    await loader.load();
    expect(loader.lastLoad).toEqual({ statted: 20, read: 0, changed: 0 });
    expect(loader.checksum()).toBe(before);
    await writeFile(join(dir, 'f3.md'), '# f3\nnew content\n');
    await utimes(join(dir, 'f3.md'), new Date(), new Date(Date.now() + 2000));
    await loader.load();
    expect(loader.lastLoad).toEqual({ statted: 20, read: 1, changed: 1 });
    expect(loader.checksum()).not.toBe(before);
    // Touched but identical: read once more, not counted as a change.
    await utimes(join(dir, 'f5.md'), new Date(), new Date(Date.now() + 4000));
    await loader.load();
    expect(loader.lastLoad).toEqual({ statted: 20, read: 1, changed: 0 });
  });

  it('keeps the referenced requirements and relevant design within the budget', () => {
    const [task] = parseTasks('- [ ] 1. Add the parser module\n  - Requirements: 2.1\n');
    const requirements = `# R\n\n### Requirement 1\n1.1 Logging\n\n### Requirement 2\n2.1 The parser reads tasks\n\n### Requirement 3\n${'filler '.repeat(2000)}`;
    const design = '# D\n\n## Parser\nThe parser is pure.\n\n## Storage\nJetStream.\n';
    const c = compressContext(task!, { requirements, design }, [], 200);
    expect(c.text).toContain('2.1 The parser reads tasks');
    expect(c.text).not.toContain('1.1 Logging');
    expect(c.text).toContain('The parser is pure.');
    expect(c.text).not.toContain('JetStream.');
    expect(c.tokens).toBeLessThanOrEqual(200);
    const unchanged = compressContext(task!, { requirements, design: design.replace('JetStream.', 'Files.') }, [], 200);
    expect(unchanged.checksum).toBe(c.checksum);
    const changed = compressContext(task!, { requirements, design: design.replace('is pure', 'is impure') }, [], 200);
    expect(changed.checksum).not.toBe(c.checksum);
  });
});

describe('the memory actor', () => {
  it('killed mid-batch and restarted, ends with every event applied exactly once', async () => {
    const server = await startTestNats();
    const rt = await testRuntime(server.url);
    const cwd = await mkdtemp(join(tmpdir(), 'ia-memcfg-'));
    await writeFile(
      join(cwd, 'implement-agent.config.json'),
      JSON.stringify({ snapshots: { everyEvents: 200, everyMs: 60_000 } }),
    );
    try {
      const tasks = 4000;
      for (let i = 0; i < tasks; i += 500) {
        await rt.store.appendAll(
          Array.from({ length: 500 }, (_, k) => {
            const taskId = String(i + k + 1);
            return [
              makeEvent(
                'TaskSubmitted',
                { runId: 'mem', taskId },
                { task: { ...parseTasks(`- [ ] ${taskId}. Task ${taskId}`)[0]! } },
              ),
              makeEvent('TaskCompleted', { runId: 'mem', taskId }, { durationMs: 1, commands: 1, recoveries: 0 }),
            ];
          }).flat(),
        );
      }
      const total = (await rt.store.state()).messages;
      const snapshots = rt.snapshots;
      const progress = async () => (await snapshots.load<TaskHistory>(TASK_HISTORY.name))?.lastSeq ?? 0;
      const env = { NATS_URL: server.url };

      const first = execa(process.execPath, [CLI, 'actor', 'memory'], { cwd, env, reject: false });
      await expect.poll(progress, { timeout: 30_000, interval: 5 }).toBeGreaterThan(0);
      first.kill('SIGKILL');
      await first;
      const atCrash = await progress();
      expect(atCrash).toBeLessThan(total);

      const second = execa(process.execPath, [CLI, 'actor', 'memory'], { cwd, env, reject: false });
      try {
        await expect.poll(progress, { timeout: 60_000, interval: 50 }).toBe(total);
        const state = (await snapshots.load<TaskHistory>(TASK_HISTORY.name))!.state;
        expect(state.eventsApplied).toBe(total);
        expect(state.entries).toHaveLength(1000);
        expect(Object.keys(state.open)).toHaveLength(0);
      } finally {
        second.kill('SIGTERM');
        await second;
      }
    } finally {
      await rt.nc.close();
      await server.stop();
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
