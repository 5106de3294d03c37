import * as z from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Runtime } from '../actors/actor.ts';
import { makeEvent, RunIdSchema } from '../events/agent-events.ts';
import { eventIds } from '../events/ids.ts';
import { recordedRun } from '../cli/recorded-run.ts';
import { TaskSpecSchema } from '../tasklist/task-spec.ts';
import { runCli, toolResult, type ChildContext } from './cli-child.ts';
import { followRun, type Progress } from './follow-run.ts';
import type { RunChildren } from './run-children.ts';

/** What the tools work with: the server's runtime (its NATS), its children, and how to run the CLI. */
export type ToolDeps = { rt: Runtime; runs: RunChildren; context: ChildContext };

/** What a call brings besides its input: its cancellation, and where its progress goes. */
export type CallExtra = { signal: AbortSignal; progress: (p: Progress) => void };

type Tool<S extends z.ZodRawShape> = {
  tier: 'core' | 'full';
  description: string;
  input: S;
  call: (deps: ToolDeps, input: z.infer<z.ZodObject<S>>, extra: CallExtra) => Promise<CallToolResult>;
};
const tool = <S extends z.ZodRawShape>(t: Tool<S>) => t;

const file = z.string().min(1);
const runId = RunIdSchema;
const taskId = TaskSpecSchema.shape.id;
const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });
/** A run started (or resumed) in the background: its id at once, or why it could not start. */
const startResult = (started: Awaited<ReturnType<ToolDeps['runs']['start']>>): CallToolResult =>
  'runId' in started ? text(JSON.stringify(started)) : toolResult(started);

/** Every tool, by name. `core` is the default set; `full` adds the rest. Descriptions stay short: they cost a client's context. */
export const TOOLS = {
  list_tasks: tool({
    tier: 'core',
    description: 'Tasks of a task list as parsed, with done state.',
    input: { file },
    call: (d, i) => runCli(d.context, ['run', i.file, '--dry', '--json']).then(toolResult),
  }),
  start_run: tool({
    tier: 'core',
    description: 'Start running a task list (file); returns the run id at once.',
    input: {
      file,
      commit: z.boolean().optional().describe('a git commit per task'),
      force: z.boolean().optional(),
      budget: z.string().optional().describe('LLM budget: tokens or $'),
      pauseAfter: z.number().int().positive().optional(),
    },
    call: async (d, i) => {
      const args = ['run', i.file, ...(i.commit ? ['--commit'] : []), ...(i.force ? ['--force'] : [])];
      if (i.budget !== undefined) args.push('--budget', i.budget);
      if (i.pauseAfter !== undefined) args.push('--pause-after', String(i.pauseAfter));
      return startResult(await d.runs.start(args));
    },
  }),
  resume_run: tool({
    tier: 'core',
    description: 'Continue an interrupted or paused run.',
    input: { runId },
    call: async (d, i) => {
      return startResult(await d.runs.start(['resume', i.runId]));
    },
  }),
  run_status: tool({
    tier: 'core',
    description: "A run's state and each task's.",
    input: { runId },
    call: async (d, i) => {
      const outcome = await runCli(d.context, ['status', i.runId, '--json']);
      if (outcome.code !== 0) return toolResult(outcome);
      const exitCode = d.runs.exitCode(i.runId);
      const status = { ...(JSON.parse(outcome.stdout) as object), ...(exitCode !== undefined ? { exitCode } : {}) };
      return text(JSON.stringify({ ...status, runningHere: d.runs.running(i.runId) }));
    },
  }),
  follow_run: tool({
    tier: 'core',
    description: 'Wait for a run to end, with progress notifications.',
    input: { runId },
    call: async (d, i, extra) => {
      const how = await followRun(d.rt, i.runId, extra.progress, extra.signal);
      return text(`run ${i.runId}: ${how}`);
    },
  }),
  interrupt_run: tool({
    tier: 'core',
    description: 'Stop a run after its tasks in flight; resume continues it.',
    input: { runId },
    call: async (d, i) => {
      const exit = d.runs.interrupt(i.runId);
      if (exit) return text(`run ${i.runId} interrupted (exit ${await exit}); implement-agent resume ${i.runId}`);
      // A run driven elsewhere: recorded, and its actors start nothing more.
      await recordedRun(d.rt, i.runId);
      await d.rt.store.append(
        makeEvent(
          'RunInterrupted',
          { runId: i.runId, id: eventIds.runInterrupted(i.runId, Date.now()) },
          { reason: 'interrupted through MCP' },
        ),
      );
      return text(`run ${i.runId} interrupted; implement-agent resume ${i.runId}`);
    },
  }),
  task_diff: tool({
    tier: 'core',
    description: 'Unified diff of a run, or of one task.',
    input: { runId, taskId: taskId.optional() },
    call: (d, i) => runCli(d.context, ['diff', i.runId, ...(i.taskId ? [i.taskId] : [])]).then(toolResult),
  }),
  revert_task: tool({
    tier: 'core',
    description: "Undo one task's changes.",
    input: { runId, taskId, force: z.boolean().optional().describe('even if files changed since') },
    call: (d, i) => runCli(d.context, ['revert', i.runId, i.taskId, ...(i.force ? ['--force'] : [])]).then(toolResult),
  }),
  plan_tasks: tool({
    tier: 'full',
    description: "Each pending task's plan and command graph; runs nothing.",
    input: { file },
    call: (d, i) => runCli(d.context, ['run', i.file, '--dry']).then(toolResult),
  }),
  verify_run: tool({
    tier: 'full',
    description: "Check every completed task's criteria again.",
    input: { runId },
    call: (d, i) => runCli(d.context, ['verify', i.runId, '--json']).then(toolResult),
  }),
  list_runs: tool({
    tier: 'full',
    description: 'Recent runs, newest first.',
    input: { limit: z.number().int().positive().max(1000).optional() },
    call: (d, i) => runCli(d.context, ['runs', '--json', '--limit', String(i.limit ?? 20)]).then(toolResult),
  }),
};

export type ToolTier = 'core' | 'full';
export const TOOL_TIERS: readonly ToolTier[] = ['core', 'full'];
