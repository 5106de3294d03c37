import { decomposerPorts, recovererPorts } from '../../src/host/actor-ports.ts';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentEventSchema, type StoredEvent } from '../../src/events/agent-events.ts';
import { decodeJson } from '../../src/events/codec.ts';
import { connectNats } from '../../src/nats/connection.ts';
import { DEFAULT_PATTERNS_FILE } from '../../src/recovery/pattern-db.ts';
import { makeEvent } from '../../src/events/agent-events.ts';
import { openDecomposer } from '../../src/actors/decomposer/actor.ts';
import { projectionCatalog } from '../../src/projections/catalog.ts';
import { createAdvisor } from '../../src/actors/recoverer/advisor.ts';
import { CLI, ofType, runCli, waitForActors, workspaces } from '../helpers/cli.ts';
import { portInUseOutcome } from '../helpers/port-in-use.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { natsPerSuite } from '../helpers/nats.ts';
import { actorNames } from '../../src/events/subjects.ts';

const server = natsPerSuite();
const ws = workspaces();
afterAll(() => ws.cleanup());

const of = ofType;
const cli = (args: string[], cwd?: string) =>
  execa(process.execPath, [CLI, ...args], {
    reject: false,
    env: { NATS_URL: server.url, NO_COLOR: '1' },
    ...(cwd ? { cwd } : {}),
  });

describe('actors as separate processes', () => {
  it('shares tasks between two executor processes, each task run exactly once, and a plain NATS client sees every event', async () => {
    const processes: ResultPromise[] = [
      ...actorNames.filter((n) => n !== 'executor').map((n) => cli(['actor', n])),
      cli(['actor', 'executor']),
      cli(['actor', 'executor']),
    ];
    const nc = await connectNats(server.url, 'plain-subscriber');
    try {
      await waitForActors(server.url);
      const n = 12;
      const tasks = Array.from(
        { length: n },
        (_, i) =>
          `- [ ] ${i + 1}. Task ${i + 1}\n  - Depends:\n  \`\`\`bash\n  sleep 0.3; echo ${i + 1} >> ran-${i + 1}.txt\n  \`\`\``,
      ).join('\n');
      const { dir, tasks: file } = await ws.make(tasks);
      const seen: StoredEvent[] = [];
      const sub = nc.subscribe('agent.events.>', {
        callback: (_, m) => {
          seen.push({ ...decodeJson(AgentEventSchema, m.subject, m.data), seq: 0 });
        },
      });
      const { result, events } = await runCli(
        ['run', file, '--workdir', dir, '--task-concurrency', '6'],
        { NATS_URL: server.url },
        dir,
      );
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/hosting/);
      const completed = of(events, 'TaskCompleted')
        .map((e) => e.taskId)
        .sort((a, b) => Number(a) - Number(b));
      expect(completed).toEqual(Array.from({ length: n }, (_, i) => String(i + 1)));
      expect(of(events, 'CommandStarted')).toHaveLength(n);
      for (let i = 1; i <= n; i++) expect(await readFile(join(dir, `ran-${i}.txt`), 'utf8')).toBe(`${i}\n`);
      await expect.poll(() => seen.filter((e) => e.runId === events[0]!.runId).length).toBe(events.length);
      expect(
        seen
          .filter((e) => e.runId === events[0]!.runId)
          .map((e) => e.id)
          .sort(),
      ).toEqual(events.map((e) => e.id).sort());
      sub.unsubscribe();
    } finally {
      await nc.close();
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes);
    }
  });
});

describe('watch, replay, tune, report', () => {
  it('watch prints a run from the start of the log, filtered by type', async () => {
    const { dir, tasks } = await ws.make('- [ ] 1. One\n  ```bash\n  true\n  ```\n');
    const { events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url }, dir);
    const runId = events[0]!.runId;
    const watch = cli(['watch', '--run', runId, '--since', 'start', '--type', 'CommandFinished']);
    let seen = '';
    watch.stdout?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    await expect.poll(() => seen, { timeout: 30_000, interval: 100 }).toMatch(/CommandFinished/);
    // A later event of the run, of another type, must not show.
    await new Promise((r) => setTimeout(r, 300));
    watch.kill('SIGINT');
    const out = await watch;
    expect(out.stdout.trim().split('\n')).toHaveLength(1);
    expect(out.stdout).toMatch(new RegExp(`${runId} 1 CommandFinished c1 exit 0`));
  });

  it('replay rebuilds the projections from the log and prints them', async () => {
    const out = await cli(['replay', '--projection', 'task-history']);
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/replayed \d+ event\(s\)/);
    expect(out.stdout).toMatch(/task-history\n +\d+ task outcome\(s\): \d+ completed/);
    expect((await cli(['replay', '--projection', 'nope'])).stderr).toMatch(/unknown projection "nope"/);
  });

  it('tune reports the matches a weakened pattern file loses', async () => {
    const { dir, tasks } = await ws.make('- [ ] 1. Known failure\n  ```bash\n  mkdir deep/er/still\n  ```\n');
    expect((await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url }, dir)).result.exitCode).toBe(0);
    const db = JSON.parse(await readFile(DEFAULT_PATTERNS_FILE, 'utf8')) as { patterns: { id: string }[] };
    const weakened = join(dir, 'weak.json');
    await writeFile(
      weakened,
      JSON.stringify({
        ...db,
        patterns: db.patterns.filter((p) => p.id !== 'mkdir-missing-parent' && p.id !== 'missing-output-folder'),
      }),
    );
    const out = await cli(['tune', '--patterns', weakened], dir);
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stdout).toMatch(
      /mkdir deep\/er\/still.*mkdir-missing-parent +- +fixed by mkdir-missing-parent\/mkdir-p/,
    );
    expect(out.stdout).toMatch(/lost matches: [1-9]\d* \(mkdir-missing-parent\)/);
  });

  it('tune --apply writes the candidate back in the order the recorded outcomes suggest', async () => {
    const rt = await testRuntime(server.url);
    try {
      const ref = portInUseOutcome;
      await rt.store.appendAll([
        ...[1, 2, 3, 4, 5].map((i) =>
          makeEvent('RecoveryResolved', { runId: 'tune', taskId: '1' }, ref('port-in-use/free-port', i)),
        ),
        ...[6, 7, 8, 9, 10].map((i) =>
          makeEvent(
            'RecoveryFailed',
            { runId: 'tune', taskId: '1' },
            { ...ref('port-in-use/wait-retry', i), reason: 'busy' },
          ),
        ),
      ]);
    } finally {
      await rt.nc.close();
    }
    const { dir } = await ws.make('');
    const candidate = join(dir, 'candidate.json');
    await writeFile(candidate, await readFile(DEFAULT_PATTERNS_FILE, 'utf8'));
    const out = await cli(['tune', '--patterns', candidate, '--apply'], dir);
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/port-in-use: free-port > wait-retry/);
    const written = JSON.parse(await readFile(candidate, 'utf8')) as {
      patterns: { id: string; strategies: { id: string }[] }[];
    };
    expect(written.patterns.find((p) => p.id === 'port-in-use')!.strategies.map((s) => s.id)).toEqual([
      'free-port',
      'wait-retry',
    ]);
    const original = JSON.parse(await readFile(DEFAULT_PATTERNS_FILE, 'utf8')) as { patterns: unknown[] };
    expect(written.patterns).toHaveLength(original.patterns.length);
  });

  it('report writes a self-contained timeline of a run', async () => {
    const { dir, tasks } = await ws.make(
      '- [ ] 1. Two at once\n  ```bash\n  sleep 0.3; echo a > a\n  sleep 0.3; echo b > b\n  ```\n',
    );
    const { events } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: server.url }, dir);
    const html = join(dir, 'report.html');
    const out = await cli(['report', events[0]!.runId, '--out', html]);
    expect(out.exitCode, out.stderr).toBe(0);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('<svg id="timeline"');
    expect(page.match(/class="bar plan"/g)).toHaveLength(2);
    expect(page).not.toMatch(/<script|(?:src|href)=["']https?:/);
  });
  it('a projection rebuilt from the log equals the live one', async () => {
    const rt = await testRuntime(server.url);
    try {
      const live = await openDecomposer(rt, decomposerPorts());
      const advisor = await createAdvisor(rt, recovererPorts);
      const catalog = projectionCatalog({ maxCacheEntries: rt.config.cache.maxEntries });
      const all = await rt.store.read();
      const rebuilt = (name: string) =>
        all.reduce((s, e) => catalog[name]!.evolve(s, e), catalog[name]!.initialState());
      expect(live.cache.lastSeq()).toBe(all.at(-1)!.seq);
      expect(rebuilt('plan-cache')).toEqual(live.cache.state());
      expect(rebuilt('recovery-stats')).toEqual(advisor.stats());
      expect(Object.keys((rebuilt('recovery-stats') as { strategies: object }).strategies).length).toBeGreaterThan(0);
      await live.cache.stop();
      await advisor.stop();
    } finally {
      await rt.nc.close();
    }
  });
});
