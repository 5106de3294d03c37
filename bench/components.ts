import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { DeliverPolicy, jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { executorActor } from '../src/actors/executor/actor.ts';
import { executorPorts } from '../src/host/executor-ports.ts';
import { runActor } from '../src/host/run-actor.ts';
import { closeDecomposer, decidePlan, openDecomposer } from '../src/actors/decomposer/actor.ts';
import { decomposerPorts } from '../src/host/actor-ports.ts';
import { ContextLoader } from '../src/context/context-loader.ts';
import { isTaskTerminal, makeEvent, type AgentEvent } from '../src/events/agent-events.ts';
import { eventIds } from '../src/events/ids.ts';
import type { ExecuteTask } from '../src/events/work-commands.ts';
import { EVENTS_STREAM, eventSubjects } from '../src/events/subjects.ts';
import { encodeJson } from '../src/events/codec.ts';
import { connectNats } from '../src/nats/connection.ts';
import { loadConfig, NETWORK_MODES } from '../src/config.ts';
import { childEnvironment } from '../src/exec/child-env.ts';
import { buildCommandGraph, criticalPath } from '../src/exec/command-graph.ts';
import { runShellCommand } from '../src/exec/run-command.ts';
import { resolveConfinement } from '../src/exec/sandbox.ts';
import { runConfined } from '../src/exec/confined-run.ts';
import { demoPlanner } from '../test/helpers/demo-planner.ts';
import { startFakeLlm } from '../test/helpers/fake-llm.ts';
import type { Plan } from '../src/plan/plan-schema.ts';
import { explicitCommands } from '../src/plan/explicit-plan.ts';
import {
  evolveRecoveryStats,
  initialRecoveryStats,
  recoveryStatsProjection,
} from '../src/projections/recovery-stats.ts';
import { foldTogether, projectionCatalog } from '../src/projections/catalog.ts';
import { runProjection } from '../src/projections/runner.ts';
import { DEFAULT_PATTERNS_FILE, PatternDb } from '../src/recovery/pattern-db.ts';
import { parseTasks } from '../src/tasklist/tasks-parser.ts';
import { benchRuntime, fmt, freshNats, percentile } from './harness.ts';
import { taskChanges } from '../src/workspace/task-changes.ts';
import { RunTrees } from '../src/workspace/run-trees.ts';

export type Row = { area: string; measure: string; value: number; unit: string; note?: string };

const failed = (runId: string, i: number) =>
  makeEvent(
    'RecoveryFailed',
    { runId, taskId: String(i % 50) },
    {
      commandId: 'c1',
      attempt: 0,
      patternId: 'p',
      strategyId: `p/s${i % 7}`,
      source: 'pattern',
      durationMs: 1,
      reason: 'bench',
    },
  );

/**
 * Append (awaited one by one, and windowed), read, and projection replay throughput, each beside
 * what the NATS client itself does on the same server in the same run (the same bytes published
 * in the same windows without the event store; the same events read through an ordered consumer
 * with only JSON.parse), so a slow shared machine shows as both rows falling together.
 */
export async function eventThroughput(count: number): Promise<Row[]> {
  const nats = await freshNats();
  const rt = await benchRuntime(nats.url);
  const nc = await connectNats(nats.url, 'bench-client');
  try {
    const one = 1000;
    let t = performance.now();
    for (let i = 0; i < one; i++) await rt.store.append(failed('seq', i));
    const awaited = one / ((performance.now() - t) / 1000);
    const events = Array.from({ length: count }, (_, i) => failed('win', i));
    t = performance.now();
    for (let i = 0; i < count; i += 500) await rt.store.appendAll(events.slice(i, i + 500));
    const windowed = count / ((performance.now() - t) / 1000);
    const js = jetstream(nc);
    const bytes = events.map((e) => encodeJson(e));
    const subject = eventSubjects.of('raw', '1', 'RecoveryFailed');
    t = performance.now();
    for (let i = 0; i < count; i += 500)
      await Promise.all(bytes.slice(i, i + 500).map((data, k) => js.publish(subject, data, { msgID: `raw-${i + k}` })));
    const clientWindowed = count / ((performance.now() - t) / 1000);
    t = performance.now();
    const read = await rt.store.read({ subject: eventSubjects.run('win') });
    const readRate = read.length / ((performance.now() - t) / 1000);
    t = performance.now();
    let state = initialRecoveryStats();
    await rt.store.scan({ subject: eventSubjects.run('win') }, (e) => {
      state = evolveRecoveryStats(state, e);
    });
    const replay = count / ((performance.now() - t) / 1000);
    t = performance.now();
    await clientRead(js, eventSubjects.run('win'), count);
    const clientReadRate = count / ((performance.now() - t) / 1000);
    const share = (value: number, client: number) =>
      `${fmt((value / client) * 100, 0)}% of the client alone (${fmt(client / 1000, 1)}k/s)`;
    const against = (value: number, client: number, target: number) =>
      `target at least ${target / 1000}k/s: ${value >= target ? 'met' : 'missed'}; ${share(value, client)}`;
    return [
      { area: 'events', measure: 'append, each publish awaited', value: awaited, unit: 'events/s' },
      {
        area: 'events',
        measure: 'append, windows of 500 in flight',
        value: windowed,
        unit: 'events/s',
        note: against(windowed, clientWindowed, 20_000),
      },
      {
        area: 'events',
        measure: `read ${count} in order`,
        value: readRate,
        unit: 'events/s',
        note: share(readRate, clientReadRate),
      },
      {
        area: 'projections',
        measure: 'replay into the recovery statistics fold',
        value: replay,
        unit: 'events/s',
        note: against(replay, clientReadRate, 100_000),
      },
    ];
  } finally {
    await nc.close();
    await rt.close();
    await nats.cleanup();
  }
}

/**
 * What `replay` does with a log of planned tasks: every projection of the catalog rebuilt from
 * it. Each task is planned by the LLM (a plan the cache keeps), runs a command and completes; with
 * more tasks than the cache's bound of 1,000 entries, every completion also drops one.
 */
export async function catalogReplay(tasks: number): Promise<Row[]> {
  const nats = await freshNats();
  const rt = await benchRuntime(nats.url);
  try {
    const runId = 'planned';
    const plan: Plan = {
      complexity: { level: 'low', estimatedSteps: 2, risks: [], confidence: 0.9 },
      commands: explicitCommands(['echo one > one.txt', 'echo two > two.txt']),
      decisionPoints: [],
      successCriteria: [],
      fallbacks: [],
    };
    const events = Array.from({ length: tasks }, (_, i) => {
      const at = { runId, taskId: String(i) };
      const command = { commandId: 'c1', command: plan.commands[0]!.command, attempt: 0, purpose: 'plan' as const };
      return [
        makeEvent('PlanCreated', at, {
          source: 'llm',
          taskKey: `${i}`.padStart(32, 'k'),
          contextChecksum: 'c',
          specChecksum: 's',
          taskText: `implement feature ${i} of the parser`,
          plan,
          durationMs: 1,
          inputs: [],
          revision: 0,
        }),
        makeEvent('CommandFinished', at, {
          ...command,
          exitCode: 0,
          signal: null,
          timedOut: false,
          durationMs: 1,
          startedAt: new Date().toISOString(),
          stdoutTail: '',
          stderrTail: '',
          truncated: false,
          redacted: [],
        }),
        makeEvent('TaskCompleted', at, { durationMs: 1, commands: 1, recoveries: 0 }),
      ];
    }).flat();
    for (let i = 0; i < events.length; i += 500) await rt.store.appendAll(events.slice(i, i + 500));
    const { evolve } = foldTogether(projectionCatalog({ maxCacheEntries: 1000 }));
    const t = performance.now();
    await rt.store.scan({ subject: eventSubjects.run(runId) }, evolve);
    const seconds = (performance.now() - t) / 1000;
    return [
      {
        area: 'projections',
        measure: `replay into every projection (\`replay\`), ${tasks} planned tasks`,
        value: events.length / seconds,
        unit: 'events/s',
        note: `${fmt((seconds * 1e6) / tasks, 0)} us per task; the plan cache at its bound of 1,000 entries`,
      },
    ];
  } finally {
    await rt.close();
    await nats.cleanup();
  }
}

/** The floor of a read: `count` events through the client's ordered consumer, JSON.parse only. */
async function clientRead(js: JetStreamClient, filter: string, count: number): Promise<void> {
  const consumer = await js.consumers.get(EVENTS_STREAM, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.All,
  });
  const decoder = new TextDecoder();
  let seen = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  const messages = await consumer.consume({
    max_messages: 1000,
    callback: (m) => {
      JSON.parse(decoder.decode(m.data));
      // The event store needs each message's sequence, which the client parses from its reply subject.
      if (m.seq > 0 && ++seen === count) done();
    },
  });
  await all;
  await messages.close();
}

/** Projection start-up with 1k/10k/100k events in the log, without and with a snapshot. */
export async function snapshotStartup(lengths: number[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const length of lengths) {
    const nats = await freshNats();
    const rt = await benchRuntime(nats.url);
    try {
      for (let i = 0; i < length; i += 1000)
        await rt.store.appendAll(Array.from({ length: Math.min(1000, length - i) }, (_, k) => failed('log', i + k)));
      const snapshots = rt.snapshots;
      const projection = recoveryStatsProjection;
      const options = { everyEvents: 1_000_000, everyMs: 3_600_000 };
      let t = performance.now();
      const cold = await runProjection(rt.store, snapshots, projection, options);
      await cold.caughtUp();
      const coldMs = performance.now() - t;
      await cold.stop(); // writes the snapshot
      t = performance.now();
      const warm = await runProjection(rt.store, snapshots, projection, options);
      await warm.caughtUp();
      const warmMs = performance.now() - t;
      await warm.stop();
      rows.push({ area: 'snapshots', measure: `start-up, ${length} events, no snapshot`, value: coldMs, unit: 'ms' });
      rows.push({ area: 'snapshots', measure: `start-up, ${length} events, from snapshot`, value: warmMs, unit: 'ms' });
    } finally {
      await rt.close();
      await nats.cleanup();
    }
  }
  return rows;
}

/** One failure against the whole pattern database: p50 and p99 over many matches. */
export async function patternMatch(iterations: number): Promise<Row[]> {
  const db = await PatternDb.load(DEFAULT_PATTERNS_FILE);
  const failures = [
    {
      command: 'mkdir a/b',
      exitCode: 1,
      stdoutTail: '',
      stderrTail: "mkdir: cannot create directory 'a/b': No such file or directory\n",
      timedOut: false,
    },
    {
      command: 'npm test',
      exitCode: 1,
      stdoutTail: '',
      stderrTail: 'npm error Missing script: "test"\n'.repeat(20),
      timedOut: false,
    },
    {
      command: 'x',
      exitCode: 1,
      stdoutTail: 'lorem ipsum\n'.repeat(300),
      stderrTail: 'nothing any pattern knows\n'.repeat(100),
      timedOut: false,
    },
  ];
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const f = failures[i % failures.length]!;
    const t = performance.now();
    db.match(f);
    times.push(performance.now() - t);
  }
  return [
    {
      area: 'recovery',
      measure: `pattern match p50 (${db.patterns.length} patterns)`,
      value: percentile(times, 50),
      unit: 'ms',
    },
    { area: 'recovery', measure: 'pattern match p99', value: percentile(times, 99), unit: 'ms' },
  ];
}

/** A plan of sleeping commands with a known graph, run by the real executor: wall / critical path. */
export async function scheduler(): Promise<Row[]> {
  const sleep = 0.4;
  const commands = [
    `mkdir -p s`,
    `sleep ${sleep}; echo 1 > s/a`,
    `sleep ${sleep}; echo 2 > s/b`,
    `sleep ${sleep}; echo 3 > s/c`,
    `sleep ${sleep}; cat s/a s/b > s/ab`,
    `sleep ${sleep}; cat s/c > s/c2`,
    `sleep ${sleep}; cat s/ab s/c2 > s/all`,
  ];
  const plan: Plan = {
    complexity: { level: 'low', estimatedSteps: commands.length, risks: [], confidence: 1 },
    commands: explicitCommands(commands),
    decisionPoints: [],
    successCriteria: [],
    fallbacks: [],
  };
  const graph = buildCommandGraph(plan.commands);
  const nats = await freshNats();
  const rt = await benchRuntime(nats.url);
  const executor = await runActor(rt, executorActor(executorPorts));
  const rows: Row[] = [];
  try {
    for (const concurrency of [3, 1]) {
      const dir = await mkdtemp(join(tmpdir(), 'ia-sched-'));
      const runId = `sched${concurrency}`;
      let recorded: () => void = () => {};
      const outcome = new Promise<void>((r) => (recorded = r));
      const following = await rt.store.follow({ subject: eventSubjects.task(runId, '1'), from: 'start' }, (e) => {
        if (isTaskTerminal(e)) recorded();
      });
      // The executor runs work only for a run its log records, in that run's folder.
      await rt.store.append(
        makeEvent(
          'RunStarted',
          { runId, id: eventIds.run(runId, 'RunStarted') },
          {
            tasksFile: join(dir, 'tasks.md'),
            workdir: dir,
            taskIds: ['1'],
            alreadyDone: [],
            options: {
              taskConcurrency: 1,
              commandConcurrency: concurrency,
              continuePolicy: 'dependencies-successful',
              llm: 'offline',
              planAhead: 0,
              skipOptional: false,
            },
          },
        ),
      );
      const t = performance.now();
      await rt.work.publish(
        'executor',
        'execute',
        {
          runId,
          taskId: '1',
          workdir: dir,
          plan,
          planEventId: 'p',
          llm: 'offline',
          commandConcurrency: concurrency,
          generation: 0,
        } satisfies ExecuteTask,
        runId,
      );
      await outcome;
      const wall = performance.now() - t;
      await following.stop();
      const finished = (
        await rt.store.read({ subject: eventSubjects.of(`sched${concurrency}`, '1', 'CommandFinished') })
      ).flatMap((e) => (e.type === 'CommandFinished' ? [e.data] : []));
      const durations = Object.fromEntries(finished.map((d) => [d.commandId, d.durationMs]));
      const cp = criticalPath(graph, durations);
      const total = finished.reduce((s, d) => s + d.durationMs, 0);
      rows.push({
        area: 'executor',
        measure: `graph of 7 commands, concurrency ${concurrency}: wall / critical path`,
        value: wall / cp,
        unit: 'ratio',
        note: `wall ${wall.toFixed(0)} ms, critical path ${cp.toFixed(0)} ms, sequential ${total.toFixed(0)} ms`,
      });
      await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await executor.stop();
    await rt.close();
    await nats.cleanup();
  }
  return rows;
}

/** Context load of a 1,000-file spec folder: cold, then warm with 0 and with 1 changed file. */
export async function contextReload(files: number): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-ctx-'));
  try {
    await mkdir(dir, { recursive: true });
    const names = Array.from({ length: files }, (_, i) => `spec-${i}.md`);
    await Promise.all(
      names.map((n, i) => writeFile(join(dir, n), `# Spec ${i}\n${'Requirement text. '.repeat(200)}\n`)),
    );
    const loader = new ContextLoader(dir, names);
    let t = performance.now();
    await loader.load();
    const cold = performance.now() - t;
    t = performance.now();
    await loader.load();
    const warm0 = performance.now() - t;
    const reads0 = loader.lastLoad.read;
    await writeFile(join(dir, names[7]!), '# changed\n');
    await utimes(join(dir, names[7]!), new Date(), new Date(Date.now() + 5000));
    t = performance.now();
    await loader.load();
    const warm1 = performance.now() - t;
    return [
      { area: 'context', measure: `load ${files} files, cold`, value: cold, unit: 'ms' },
      { area: 'context', measure: 'reload, 0 changed', value: warm0, unit: 'ms', note: `${reads0} files read` },
      {
        area: 'context',
        measure: 'reload, 1 changed',
        value: warm1,
        unit: 'ms',
        note: `${loader.lastLoad.read} file(s) read`,
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Planning wall time per task for the three strategies and a warm cache, at one LLM latency. */
export async function planning(latencyMs: number, tasksPerStrategy: number): Promise<Row[]> {
  const llm = await startFakeLlm({ latencyMs, responder: demoPlanner() });
  const rows: Row[] = [];
  try {
    for (const strategy of ['sequential', 'batched', 'single'] as const) {
      const nats = await freshNats();
      const rt = await benchRuntime(nats.url, {
        llm: { mode: 'openai', baseUrl: llm.baseUrl, apiKey: 'bench', strategy, maxRetries: 0 },
      });
      try {
        const d = await openDecomposer(rt, decomposerPorts());
        const dir = await mkdtemp(join(tmpdir(), 'ia-plan-'));
        const tasks = parseTasks(
          Array.from(
            { length: tasksPerStrategy },
            (_, i) => `- [ ] ${i + 1}. Create the file p/${strategy}-${i}.txt`,
          ).join('\n'),
        );
        const item = (i: number) => ({
          runId: `plan${strategy}`,
          workdir: dir,
          tasksFile: join(dir, 'tasks.md'),
          task: tasks[i]!,
          group: false,
          llm: 'openai' as const,
          generation: 0,
          revision: 0,
        });
        const emit = async (e: AgentEvent) => {
          await rt.store.append(e);
        };
        let t = performance.now();
        const created: AgentEvent[] = [];
        for (let i = 0; i < tasks.length; i++) created.push(await decidePlan(rt, d, item(i), emit));
        rows.push({
          area: 'planning',
          measure: `${strategy}: per new task`,
          value: (performance.now() - t) / tasks.length,
          unit: 'ms',
          note: `${latencyMs} ms per LLM call`,
        });
        if (strategy === 'batched') {
          // Complete the tasks so their plans enter the cache, then plan them again.
          for (const e of created) {
            await rt.store.append(e);
            await rt.store.append(
              makeEvent(
                'TaskCompleted',
                { runId: e.runId, taskId: e.taskId! },
                { durationMs: 1, commands: 1, recoveries: 0 },
              ),
            );
          }
          await waitFor(() => Object.keys(d.cache.state().entries).length >= tasks.length);
          t = performance.now();
          for (let i = 0; i < tasks.length; i++) await decidePlan(rt, d, { ...item(i), runId: 'plan-warm' }, emit);
          rows.push({
            area: 'planning',
            measure: 'warm cache: per repeated task',
            value: (performance.now() - t) / tasks.length,
            unit: 'ms',
          });
        }
        await closeDecomposer(d);
        await rm(dir, { recursive: true, force: true });
      } finally {
        await rt.close();
        await nats.cleanup();
      }
    }
  } finally {
    await llm.close();
  }
  return rows;
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the plan cache');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What confinement costs one command: `true` run bare and confined under each network mode (limits included), median of each. */
export async function confinementCost(runs: number): Promise<Row[]> {
  const stateDir = await mkdtemp(join(tmpdir(), 'ia-sandbox-'));
  const dir = await mkdtemp(join(tmpdir(), 'ia-confine-'));
  const base = { cwd: dir, env: childEnvironment().env, timeoutMs: 10_000, tailChars: 1000, keepBytes: 10_000 };
  const median = async (run: () => Promise<{ durationMs: number }>) => {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push((await run()).durationMs);
    return percentile(times, 50);
  };
  const bare = await median(() => runShellCommand('true', base));
  const rows: Row[] = [];
  for (const network of NETWORK_MODES) {
    const config = await loadConfig({
      cwd: '/nonexistent',
      flags: { sandbox: { mode: 'auto', network }, stateDir },
      env: {},
    });
    const confinement = await resolveConfinement(
      config,
      () => {},
      () => {},
    );
    if (confinement.kind !== 'bwrap')
      return [
        {
          area: 'confinement',
          measure: 'bubblewrap per command',
          value: Number.NaN,
          unit: 'ms',
          note: confinement.why,
        },
      ];
    const confined = await median(() => runConfined('true', confinement, config.execution.limits, base));
    rows.push({
      area: 'confinement',
      measure: `command \`true\`: under bubblewrap, network ${network} (median)`,
      value: confined,
      unit: 'ms',
      note: `bare ${bare} ms; cost ${confined - bare} ms per command, limits included (${runs} runs each)`,
    });
  }
  return rows;
}

/**
 * CLI start-up, as a user meets it: `--help`, and a one-task run of an explicit command against a
 * running NATS, through bin/implement-agent.js from the bundle (`npm run build`) and from the
 * TypeScript sources through tsx (what every start cost before the bundle). Medians.
 */
export async function cliStartup(runs: number): Promise<Row[]> {
  const root = join(import.meta.dirname, '..');
  const nats = await freshNats();
  const dir = await mkdtemp(join(tmpdir(), 'ia-startup-'));
  await writeFile(join(dir, 'tasks.md'), '- [ ] 1. Say hello\n  ```bash\n  echo hello\n  ```\n');
  const env = { ...process.env, NATS_URL: nats.url, NO_COLOR: '1' };
  const time = async (args: string[], extra: Record<string, string> = {}, count = runs) => {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const r = await execa(process.execPath, args, { cwd: dir, env: { ...env, ...extra }, reject: false });
      if (r.exitCode !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
      times.push(performance.now() - started);
    }
    return percentile(times, 50);
  };
  try {
    const bin = join(root, 'bin/implement-agent.js');
    const fromSources = [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'src/cli/main.ts')];
    // A start with no code cache yet: the first of each command after a build.
    await rm(join(root, 'dist/cli/v8-cache'), { recursive: true, force: true });
    const firstRun = await time([bin, 'run', 'tasks.md', '--force'], {}, 1);
    const help = await time([bin, '--help']);
    const helpTsx = await time([...fromSources, '--help']);
    const run = await time([bin, 'run', 'tasks.md', '--force']);
    const runTsx = await time([...fromSources, 'run', 'tasks.md', '--force']);
    await writeFile(join(dir, 'done.md'), '- [x] 1. Say hello\n  ```bash\n  echo hello\n  ```\n');
    const nothing = await time([bin, 'run', 'done.md']);
    const ownServer = await time([bin, 'run', 'tasks.md', '--force'], { NATS_URL: '' });
    return [
      {
        area: 'start-up',
        measure: '`--help`: bundle / sources through tsx (median)',
        value: help,
        unit: 'ms',
        note: `tsx ${fmtMs(helpTsx)}; ${fmtMs(help / helpTsx, 2)}x`,
      },
      {
        area: 'start-up',
        measure: 'one-task run, NATS up: bundle / tsx (median)',
        value: run,
        unit: 'ms',
        note: `tsx ${fmtMs(runTsx)}; ${fmtMs(run / runTsx, 2)}x; target 250 ms: ${run <= 250 ? 'met' : 'missed'}`,
      },
      {
        area: 'start-up',
        measure: 'one-task run, NATS up, the first after a build (no code cache yet)',
        value: firstRun,
        unit: 'ms',
        note: 'one start: it writes the cache the others read',
      },
      {
        area: 'start-up',
        measure: 'one-task run, starting its own nats-server (median)',
        value: ownServer,
        unit: 'ms',
        note: `target 350 ms: ${ownServer <= 350 ? 'met' : 'missed'}`,
      },
      {
        area: 'start-up',
        measure: 'a list with nothing left to do (median)',
        value: nothing,
        unit: 'ms',
        note: `no server; \`--help\` ${fmtMs(help)} ms`,
      },
    ];
  } finally {
    await nats.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

const fmtMs = (v: number, digits = 0) => v.toFixed(digits);

/**
 * What recording a task's changes costs (issue 24): a 1,000-file project, each "task" changing
 * three files and creating one, one after the other as a run's tasks go. Per task: the stat walk
 * (one, at its end: the next task starts from it), the changed files read and hashed, their
 * contents put in a real JetStream object store. The tree's first read (once per run) is its
 * own row.
 */
export async function changeCapture(tasks: number, files = 1000): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ia-capture-'));
  for (let d = 0; d < files / 10; d++) {
    await mkdir(join(dir, `pkg${d}`, 'src'), { recursive: true });
    for (let f = 0; f < 10; f++)
      await writeFile(join(dir, `pkg${d}`, 'src', `m${f}.ts`), `export const v${f} = ${d};\n`.repeat(40));
  }
  const nats = await freshNats();
  const rt = await benchRuntime(nats.url);
  try {
    const trees = new RunTrees({ maxFileBytes: 4 << 20, maxKeptBytes: 256 << 20 });
    const item = (t: number) => ({ runId: 'bench', taskId: String(t), workdir: dir });
    const started = performance.now();
    await trees.enter(item(0), join(dir, '.implement-agent'));
    trees.leave('bench', '0');
    const baselineMs = performance.now() - started;
    const critical: number[] = [];
    const storing: number[] = [];
    for (let t = 1; t <= tasks; t++) {
      const t0 = performance.now();
      await trees.enter(item(t), join(dir, '.implement-agent'));
      const enterMs = performance.now() - t0;
      for (let k = 0; k < 3; k++)
        await writeFile(join(dir, `pkg${(t * 3 + k) % 100}`, 'src', 'm1.ts'), `export const changed = ${t}.${k};\n`);
      await writeFile(join(dir, `pkg${t % 100}`, `new${t}.ts`), `export const n = ${t};\n`);
      const t1 = performance.now();
      const record = taskChanges(trees.leave('bench', String(t)).changes, 64 << 20);
      const walked = performance.now() - t1;
      await Promise.all([...record.contents].map(([hash, bytes]) => rt.contents.put(hash, bytes)));
      storing.push(performance.now() - t1 - walked);
      critical.push(enterMs + performance.now() - t1);
      if (record.files.length !== 4) throw new Error(`expected 4 changed files, got ${record.files.length}`);
    }
    const median = percentile(critical, 50);
    return [
      {
        area: 'changes',
        measure: `per task, ${files}-file project, 4 files changed: the stat walk, changed files hashed, their contents stored (median of ${tasks})`,
        value: median,
        unit: 'ms',
        note: `target at most 10 ms: ${median <= 10 ? 'met' : 'missed'}; p90 ${fmt(percentile(critical, 90), 1)} ms`,
      },
      {
        area: 'changes',
        measure: 'of it, the 8 contents put in the object store',
        value: percentile(storing, 50),
        unit: 'ms',
        note: `median; p90 ${fmt(percentile(storing, 90), 1)} ms`,
      },
      {
        area: 'changes',
        measure: `first read of the ${files}-file tree (once per run)`,
        value: baselineMs,
        unit: 'ms',
        note: 'every file read and hashed, its content kept as the before content',
      },
    ];
  } finally {
    await rt.close();
    await nats.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}
