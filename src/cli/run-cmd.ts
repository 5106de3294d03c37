import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { loadConfig, type ConfigOverrides } from '../config.ts';
import { InputError } from '../errors.ts';
import { makeEvent, type ContinuePolicy, type StoredEvent } from '../events/agent-events.ts';
import type { StartRun } from '../events/work-commands.ts';
import { parseTasks } from '../spec/tasks-parser.ts';
import { hostActors, missingActors } from '../actors/hosts.ts';
import { startFromLog } from '../actors/resume-run.ts';
import { submitRun } from '../actors/submit-run.ts';
import type { Runtime } from '../actors/runtime.ts';
import { dryRun } from './dry-run.ts';
import { withRuntime } from './nats-session.ts';
import { progressPrinter } from './progress.ts';

export type RunFlags = {
  tasksFile: string;
  workdir?: string;
  json?: boolean;
  force?: boolean;
  dry?: boolean;
  concurrency?: number;
  planAhead?: number;
  skipOptional?: boolean;
  continuePolicy?: ContinuePolicy;
  llm?: 'openai' | 'offline';
  config?: string;
};

const MAX_TASKS_FILE = 5 * 1024 * 1024;

/** `implement-agent run`: returns the exit code (0 all tasks succeeded, 1 one failed). */
export async function runCommand(flags: RunFlags): Promise<number> {
  const cwd = process.cwd();
  const overrides: ConfigOverrides = {
    execution: {
      ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
      ...(flags.planAhead !== undefined ? { planAhead: flags.planAhead } : {}),
      ...(flags.continuePolicy ? { continuePolicy: flags.continuePolicy } : {}),
    },
    llm: flags.llm ? { mode: flags.llm } : {},
  };
  const config = await loadConfig({ cwd, flags: overrides, ...(flags.config ? { file: flags.config } : {}) });
  const tasksFile = resolve(cwd, flags.tasksFile);
  const workdir = resolve(cwd, flags.workdir ?? '.');
  const tasks = parseTasks(await readTasksFile(tasksFile), flags.tasksFile).map((t) => (flags.force ? { ...t, done: false } : t));
  await stat(workdir).catch(() => {
    throw new InputError(`working directory ${workdir} does not exist`);
  });

  const llm = config.llm.mode ?? 'offline';
  return withRuntime(config, cwd, 'run', async (rt) => {
    if (flags.dry) return dryRun(rt, { runId: newRunId(), tasksFile, workdir, tasks, llm }, (l) => process.stdout.write(`${l}\n`));
    const start: StartRun = {
      runId: newRunId(),
      tasksFile,
      workdir,
      tasks,
      options: {
        concurrency: config.execution.concurrency,
        continuePolicy: config.execution.continuePolicy,
        llm,
        planAhead: config.execution.planAhead,
        skipOptional: flags.skipOptional === true,
      },
    };
    return followToTheEnd(rt, start, flags.json === true, `start:${start.runId}`);
  });
}

/**
 * Submits (or resubmits) a run to the actors, hosting those no process answers for, prints its
 * events as they are recorded, and returns the exit code.
 */
async function followToTheEnd(rt: Runtime, start: StartRun, json: boolean, itemId: string): Promise<number> {
  const missing = await missingActors(rt);
  const hosted = missing.length > 0 ? await hostActors(rt, missing) : undefined;
  const print = json ? (e: StoredEvent) => process.stdout.write(`${JSON.stringify(e)}\n`) : progressPrinter((l) => process.stdout.write(`${l}\n`));
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    interrupt.abort();
    // The first Ctrl-C lets the commands in flight finish; a second one stops them at once.
    process.once('SIGINT', () => process.exit(130));
    if (hosted?.names.includes('executor')) process.stderr.write('interrupting: commands in flight finish first (Ctrl-C again to stop them now)\n');
  });
  try {
    const status = await submitRun(rt, start, print, interrupt.signal, itemId);
    if (status !== 'interrupted') return status === 'succeeded' ? 0 : 1;
    if (!hosted?.names.includes('coordinator')) {
      process.stderr.write(`stopped watching; run ${start.runId} goes on in the actors that are up\n`);
      return 130;
    }
    // This process was running the run: record that the user stopped it, so that no actor
    // started later picks its work up until it is resumed on purpose.
    await rt.store.append(makeEvent('RunInterrupted', { runId: start.runId, id: `${start.runId}:RunInterrupted:${Date.now()}` }, { reason: 'interrupted by the user (SIGINT)' }));
    process.stderr.write(`interrupted; continue it with: implement-agent resume ${start.runId}\n`);
    return 130;
  } finally {
    await hosted?.stop();
  }
}

async function readTasksFile(path: string): Promise<string> {
  const info = await stat(path).catch((cause: unknown) => {
    throw new InputError(`cannot read the task list: ${(cause as Error).message}`, { file: path }, { cause });
  });
  if (!info.isFile()) throw new InputError('not a file', { file: path });
  if (info.size > MAX_TASKS_FILE) throw new InputError(`task list is ${info.size} bytes; the limit is ${MAX_TASKS_FILE}`, { file: path });
  return readFile(path, 'utf8');
}

/** `implement-agent resume <runId>`: picks a run up where its log ends and follows it to the end. */
export async function resumeCommand(runId: string, json: boolean): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  return withRuntime(config, cwd, 'resume', async (rt) => {
    const events = await rt.store.readRun(runId);
    const start = startFromLog(runId, events);
    const finished = events.find((e) => e.type === 'RunFinished');
    if (finished?.type === 'RunFinished') {
      process.stdout.write(`run ${runId} already finished: ${finished.data.status}\n`);
      return finished.data.status === 'succeeded' ? 0 : 1;
    }
    // A new generation: work issued before it is stale, and the coordinator reissues what is left.
    const generation = events.filter((e) => e.type === 'RunResumed').length + 1;
    await rt.store.append(makeEvent('RunResumed', { runId, id: `${runId}:RunResumed:${generation}` }, { generation }));
    return followToTheEnd(rt, start, json, `resume:${runId}:${generation}`);
  });
}

/** Sortable by time, unique enough across processes, and a valid NATS subject token. */
export function newRunId(): string {
  return `r${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
