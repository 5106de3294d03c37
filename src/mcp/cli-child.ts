import { resolve } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { execa } from 'execa';
import { PACKAGE_ROOT } from '../cli/nats-for.ts';

/** The CLI the tools run: each tool is one of its commands, so it answers and fails as the CLI does. */
export const CLI_BIN = resolve(PACKAGE_ROOT, 'bin/implement-agent.js');

/** Where and how the server's children run: the project folder, and the server's NATS. */
export type ChildContext = { cwd: string; env: NodeJS.ProcessEnv };

/** The environment of a child command: the server's NATS, no colours, nothing to ask. */
export function childEnv(natsUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NATS_URL: natsUrl, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  return env;
}

export type CliOutcome = { code: number; stdout: string; stderr: string };

/** One CLI command to its end, its output captured. */
export async function runCli(context: ChildContext, args: string[], signal?: AbortSignal): Promise<CliOutcome> {
  const result = await execa(process.execPath, [CLI_BIN, ...args], {
    cwd: context.cwd,
    env: context.env,
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  return { code: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** A command's outcome as a tool's result: its output, or (exit code not 0) a tool error with what the CLI printed. */
export function toolResult(outcome: CliOutcome): CallToolResult {
  if (outcome.code === 0) return { content: [{ type: 'text', text: outcome.stdout.trimEnd() || 'done' }] };
  const said = [outcome.stderr.trim(), outcome.stdout.trim()].filter(Boolean).join('\n');
  return { isError: true, content: [{ type: 'text', text: `${said || 'failed'} (exit ${outcome.code})` }] };
}

/** An error thrown in this process, as the CLI would print it. */
export function errorResult(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `implement-agent: ${(error as Error).message}` }] };
}
