import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { submitRun } from '../src/host/submit-run.ts';
import { newRunId } from '../src/cli/run-session.ts';
import type { StoredEvent } from '../src/events/agent-events.ts';
import { demoPlanner } from '../test/helpers/demo-planner.ts';
import { startFakeLlm, type Latency } from '../test/helpers/fake-llm.ts';
import { planningTime } from '../src/report/planning-time.ts';
import { parseTasks } from '../src/tasklist/tasks-parser.ts';
import { freshNats, withActors } from './harness.ts';
import { busyTime } from './headline.ts';
import { SYSTEMS } from './reference.ts';
import { realisticSpec, taskSeconds } from './realistic-spec.ts';

export type RealisticMeasure = {
  profile: string;
  config: 'reference' | 'optimized';
  tasks: number;
  status: string;
  wallMs: number;
  /** Time some command ran: the tasks run one after another, so this is the critical path. */
  commandMs: number;
  /** One LLM round trip (the profile's mean latency) plus the command critical path. */
  limitMs: number;
  llmCalls: number;
  tokensPerTask: number;
  cachedTokenShare: number;
  planningMs: number;
  planningHiddenMs: number;
  replans: number;
};

/** Latency profiles of the LLM stand-in: fixed, and a seeded spread (uniform between two bounds). */
export function latencyProfiles(
  fixedMs: number,
  spread: [number, number],
): { name: string; latency: Latency; meanMs: number }[] {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return [
    { name: `${fixedMs} ms`, latency: fixedMs, meanMs: fixedMs },
    {
      name: `${spread[0]}-${spread[1]} ms`,
      latency: () => spread[0] + random() * (spread[1] - spread[0]),
      meanMs: (spread[0] + spread[1]) / 2,
    },
  ];
}

/**
 * Distinct prose tasks in the Kiro style, every one new to the cache, run in their default
 * (sequential) order: the reference workflow against the optimized one, each on a fresh NATS.
 */
export async function realistic(
  n: number,
  profiles: ReturnType<typeof latencyProfiles>,
  log: (line: string) => void,
): Promise<RealisticMeasure[]> {
  const out: RealisticMeasure[] = [];
  for (const profile of profiles) {
    for (const config of ['reference', 'optimized'] as const) {
      log(`realistic: ${config}, ${n} prose tasks, LLM ${profile.name}...`);
      out.push(await measure(n, profile, config));
    }
  }
  return out;
}

export async function measure(
  n: number,
  profile: ReturnType<typeof latencyProfiles>[number],
  config: 'reference' | 'optimized',
  commandSeconds: (taskId: string) => number = taskSeconds,
): Promise<RealisticMeasure> {
  const llm = await startFakeLlm({ latencyMs: profile.latency, responder: demoPlanner({ commandSeconds }) });
  const nats = await freshNats();
  try {
    const dir = await mkdtemp(join(tmpdir(), `ia-realistic-${config}-`));
    const spec = realisticSpec(n);
    const tasksFile = join(dir, 'tasks.md');
    await writeFile(tasksFile, spec.tasks);
    await writeFile(join(dir, 'requirements.md'), spec.requirements);
    await writeFile(join(dir, 'design.md'), spec.design);
    const flags = {
      ...SYSTEMS[config].flags,
      llm: { ...SYSTEMS[config].flags.llm, baseUrl: llm.baseUrl, apiKey: 'bench', maxRetries: 0 },
    };
    return await withActors(nats.url, flags, SYSTEMS[config].actors, async (rt) => {
      const events: StoredEvent[] = [];
      const started = performance.now();
      const status = await submitRun(
        rt,
        {
          runId: newRunId(),
          tasksFile,
          workdir: dir,
          tasks: parseTasks(spec.tasks),
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
      const calls = events.flatMap((e) => (e.type === 'LlmCalled' ? [e.data] : []));
      const prompt = calls.reduce((s, c) => s + (c.promptTokens ?? 0), 0);
      const tokens = calls.reduce((s, c) => s + (c.promptTokens ?? 0) + (c.completionTokens ?? 0), 0);
      const commandMs = busyTime(events);
      const planning = planningTime(events);
      return {
        profile: profile.name,
        config,
        tasks: n,
        status,
        wallMs,
        commandMs,
        limitMs: profile.meanMs + commandMs,
        llmCalls: calls.length,
        tokensPerTask: tokens / n,
        cachedTokenShare: prompt ? calls.reduce((s, c) => s + (c.cachedTokens ?? 0), 0) / prompt : 0,
        planningMs: planning.planningMs,
        planningHiddenMs: planning.hiddenMs,
        replans: events.filter((e) => e.type === 'PlanInvalidated').length,
      };
    });
  } finally {
    await nats.cleanup();
    await llm.close();
  }
}
