import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, expect } from 'vitest';
import type { StoredEvent } from '../../src/events/agent-events.ts';
import type { EventStore } from '../../src/nats/event-store.ts';
import { CLI, type workspaces } from './cli.ts';

/** A project folder whose config makes dead processes' work come back within two seconds. */
export async function quickRedeliveryProject(
  ws: ReturnType<typeof workspaces>,
  tasks: string,
  config: Record<string, unknown> = {},
) {
  const w = await ws.make(tasks);
  await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ workAckWaitMs: 2000, ...config }));
  return w;
}

/**
 * The CLI processes a test file starts through these helpers: each still running after a test
 * (it failed or timed out before its own `finally`) is killed then, so no actor of one test
 * takes work of the next. A file using them calls `endLeftProcesses()` once at its top.
 */
const started = new Set<{ exitCode: number | null; kill(signal: NodeJS.Signals): boolean }>();
export function endLeftProcesses() {
  afterEach(() => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
    started.clear();
  });
}

/** The CLI in a child process (output collected, never rejecting), ended after the test at the latest. */
export function cliProcess(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {},
) {
  const child = execa(process.execPath, [CLI, ...args], { reject: false, ...options });
  started.add(child);
  return child;
}

/** One actor as a process of its own, as `implement-agent actor <name>` starts it. */
export function actorProcess(name: string, url: string, cwd: string, env: Record<string, string> = {}) {
  return cliProcess(['actor', name], { cwd, env: { NATS_URL: url, ...env } });
}

/** The run's events once `test` holds of them (read again every 100 ms, up to `timeout`). */
export async function eventsUntil(
  store: EventStore,
  runId: string,
  test: (events: StoredEvent[]) => boolean,
  timeout = 60_000,
): Promise<StoredEvent[]> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const events = await store.readRun(runId);
    if (test(events)) return events;
    if (Date.now() > deadline) throw new Error(`timed out; last events: ${events.map((e) => e.type).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function expectNoDuplicates(events: StoredEvent[]) {
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
}

/** The run started for a tasks file (processes start slowly on two cores: wait generously). */
export async function runIdOf(store: EventStore, tasksFile: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const started = (await store.read({ subject: 'agent.events.*._.RunStarted' })).find(
      (e) => e.type === 'RunStarted' && e.data.tasksFile === tasksFile,
    );
    if (started) return started.runId;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no run started for ${tasksFile}`);
}
