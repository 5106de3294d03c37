import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigOverrides } from '../src/config.ts';
import type { EventOf, StoredEvent } from '../src/events/agent-events.ts';
import { submitRun } from '../src/host/submit-run.ts';
import { newRunId } from '../src/cli/run-session.ts';
import { demoPlanner } from '../test/helpers/demo-planner.ts';
import { startFakeLlm, type FakeLlm, type LoggedRequest } from '../test/helpers/fake-llm.ts';
import { longestGap, unionLength } from '../src/report/intervals.ts';
import { parseTasks } from '../src/tasklist/tasks-parser.ts';
import { freshNats, withActors } from './harness.ts';
import { SYSTEMS } from './reference.ts';

/**
 * A realistic task list, per block of ten: three with explicit commands (two independent
 * commands each), three new tasks the LLM plans, two repeats of those, one known failure (mkdir
 * without -p) and one unknown failure (needs the LLM to recover).
 */
export function headlineTasks(n: number): string {
  const lines: string[] = ['# Benchmark plan', ''];
  for (let i = 1; i <= n; i++) {
    const slot = (i - 1) % 10;
    const block = Math.floor((i - 1) / 10);
    if (slot < 3) {
      lines.push(
        `- [ ] ${i}. Prepare area ${i}`,
        '  ```bash',
        `  mkdir -p area${i}`,
        `  sleep 0.1; echo a > area${i}/a.txt`,
        `  sleep 0.1; echo b > area${i}/b.txt`,
        '  ```',
      );
    } else if (slot < 6) {
      lines.push(`- [ ] ${i}. Create the file gen/b${block}-s${slot}.txt`);
    } else if (slot < 8) {
      lines.push(`- [ ] ${i}. Create the file gen/b${block}-s${slot - 3}.txt`);
    } else if (slot === 8) {
      lines.push(`- [ ] ${i}. Make a nested folder`, '  ```bash', `  mkdir known${i}/deep/er`, '  ```');
    } else {
      lines.push(
        `- [ ] ${i}. Check the flag`,
        '  ```bash',
        `  test -f flag${i}.ok || { echo "E9: flag${i}.ok is missing" >&2; exit 3; }`,
        '  ```',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The LLM stand-in for the benchmark: the demo planner, and recovery advice read off the prompt. */
function responder(planner = demoPlanner({ commandSeconds: 0.1 })) {
  return (req: LoggedRequest) => {
    if (req.schemaName !== 'recovery') return planner(req);
    const prompt = req.messages.map((m) => m.content).join('\n');
    const command = /Command: (.*)/.exec(prompt)?.[1] ?? '';
    const mkdir = /^mkdir (\S+)$/.exec(command);
    const flag = /test -f (\S+)/.exec(command);
    const commands = mkdir ? [`mkdir -p ${mkdir[1]}`] : flag ? [`touch ${flag[1]}`] : [];
    return JSON.stringify({ diagnosis: 'bench', action: commands.length ? 'fix' : 'give-up', commands, retry: !mkdir });
  };
}

export type RunMeasure = {
  config: string;
  tasks: number;
  temperature: 'cold' | 'warm';
  status: string;
  wallMs: number;
  commandBusyMs: number;
  overheadPerTaskMs: number;
  /** Of the overhead, the time an LLM call was in flight while no command ran. */
  llmWaitPerTaskMs: number;
  /** The longest stretch of the run with neither a command nor an LLM call under way: a stall, if it is long. */
  longestIdleMs: number;
  llmCalls: number;
  planningLlmCalls: number;
  cacheHitRate: number;
  recoveries: number;
  recoveriesWithoutLlm: number;
};

const commandSpans = (events: StoredEvent[]) =>
  events
    .filter((e): e is EventOf<'CommandFinished'> & StoredEvent => e.type === 'CommandFinished')
    .map((e) => [Date.parse(e.data.startedAt), Date.parse(e.data.startedAt) + e.data.durationMs] as const);

/** LlmCalled is recorded when the call returns: it spans the `durationMs` before that. */
const llmSpans = (events: StoredEvent[]) =>
  events
    .filter((e): e is EventOf<'LlmCalled'> & StoredEvent => e.type === 'LlmCalled')
    .map((e) => [Date.parse(e.at) - e.data.durationMs, Date.parse(e.at)] as const);

/** The longest stretch between the run's first and last event with neither a command nor an LLM call under way. */
export function longestIdle(events: StoredEvent[]): number {
  if (events.length === 0) return 0;
  return longestGap(
    [...commandSpans(events), ...llmSpans(events)],
    Date.parse(events[0]!.at),
    Date.parse(events.at(-1)!.at),
  );
}

/** Time during which at least one command was running: the rest of the wall time is overhead. */
export function busyTime(events: StoredEvent[]): number {
  return unionLength(commandSpans(events));
}

/** Time during which an LLM call was in flight and no command ran: the part of the overhead the endpoint's latency sets. */
export function llmWaitTime(events: StoredEvent[]): number {
  const commands = commandSpans(events);
  return unionLength([...commands, ...llmSpans(events)]) - unionLength(commands);
}

async function measureRun(
  url: string,
  llm: FakeLlm,
  configName: keyof typeof SYSTEMS,
  n: number,
  temperature: 'cold' | 'warm',
): Promise<RunMeasure> {
  const dir = await mkdtemp(join(tmpdir(), `ia-headline-${configName}-`));
  const tasksFile = join(dir, 'tasks.md');
  const text = headlineTasks(n);
  await writeFile(tasksFile, text);
  const system = SYSTEMS[configName];
  const flags: ConfigOverrides = {
    ...system.flags,
    llm: { ...system.flags.llm, baseUrl: llm.baseUrl, apiKey: 'bench', maxRetries: 0 },
  };
  return withActors(url, flags, system.actors, async (rt) => {
    const events: StoredEvent[] = [];
    const before = llm.requests.length;
    const started = performance.now();
    const status = await submitRun(
      rt,
      {
        runId: newRunId(),
        tasksFile,
        workdir: dir,
        tasks: parseTasks(text),
        options: {
          taskConcurrency: rt.config.execution.taskConcurrency,
          commandConcurrency: rt.config.execution.commandConcurrency,
          continuePolicy: 'always',
          llm: 'openai',
          planAhead: rt.config.execution.planAhead,
          skipOptional: false,
        },
      },
      (e) => events.push(e),
    );
    const wallMs = performance.now() - started;
    const calls = llm.requests.slice(before);
    const hits = events.filter((e) => e.type === 'PlanCacheHit').length;
    const llmPlanned = events.filter((e) => e.type === 'PlanCreated' && e.data.source !== 'explicit').length;
    const resolved = events.filter(
      (e): e is EventOf<'RecoveryResolved'> & StoredEvent => e.type === 'RecoveryResolved',
    );
    const busy = busyTime(events);
    return {
      config: configName,
      tasks: n,
      temperature,
      status,
      wallMs,
      commandBusyMs: busy,
      overheadPerTaskMs: (wallMs - busy) / n,
      llmWaitPerTaskMs: llmWaitTime(events) / n,
      longestIdleMs: longestIdle(events),
      llmCalls: calls.length,
      planningLlmCalls: calls.filter((c) => c.schemaName.startsWith('plan')).length,
      cacheHitRate: llmPlanned ? hits / llmPlanned : 0,
      recoveries: resolved.length,
      recoveriesWithoutLlm: resolved.filter((e) => e.data.source !== 'llm').length,
    };
  });
}

/** Reference, optimized and optimized in the shared folder, cold then warm, each on its own fresh NATS, side by side. */
export async function headline(sizes: number[], latencyMs: number, log: (line: string) => void): Promise<RunMeasure[]> {
  const llm = await startFakeLlm({ latencyMs, responder: responder() });
  const results: RunMeasure[] = [];
  try {
    for (const n of sizes) {
      for (const config of ['reference', 'optimized', 'optimized, shared'] as const) {
        const nats = await freshNats();
        try {
          for (const temperature of ['cold', 'warm'] as const) {
            log(`headline: ${config} ${temperature}, ${n} tasks...`);
            results.push(await measureRun(nats.url, llm, config, n, temperature));
          }
        } finally {
          await nats.cleanup();
        }
      }
    }
  } finally {
    await llm.close();
  }
  return results;
}
