import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { configFile, loadConfig, type ConfigOverrides } from '../config.ts';
import { InputError } from '../errors.ts';
import { runOptionList } from '../events/run-option-table.ts';
import { parseTaskList, type ParseWarning } from '../tasklist/tasks-parser.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';
import { whyNoTasks } from '../tasklist/no-tasks.ts';
import { out, err, outJson } from './terminal.ts';
import { workdirRefusal } from '../workspace/workdir-guard.ts';
import type { RunFlags } from './run-flags.ts';

const MAX_TASKS_FILE = 5 * 1024 * 1024;

/** `implement-agent run`: returns the exit code (0 all tasks succeeded, 1 one failed). */
export async function runTaskList(flags: RunFlags): Promise<number> {
  const cwd = process.cwd();
  const overrides = configOverrides(flags);
  const config = await loadConfig({ cwd, flags: overrides, ...(flags.config ? { file: flags.config } : {}) });
  const tasksFile = resolve(cwd, flags.tasksFile);
  const workdir = resolve(cwd, flags.workdir ?? '.');
  const parsed = parseTaskList(await readTasksFile(tasksFile), flags.tasksFile);
  const tasks = parsed.tasks.map((t) => (flags.force ? { ...t, done: false } : t));
  if (flags.plan && !flags.dry) throw new InputError('--plan goes with --dry (run --dry --plan): a run plans anyway');
  if (flags.plan && flags.json)
    throw new InputError(
      '--dry --plan prints plans for reading; --dry --json prints the parsed tasks, without planning',
    );
  const replan = replanned(flags.replan, tasks, flags.tasksFile);
  // What the parser saw, for other tools: no server, no planning.
  if (flags.dry && flags.json) {
    outJson(parsedTasksJson(flags.tasksFile, tasks, parsed.warnings));
    return 0;
  }
  for (const w of parsed.warnings) err(`${flags.tasksFile}:${w.line}: warning: ${w.message}`);
  const found = await stat(workdir).catch(() => {
    throw new InputError(`working directory ${workdir} does not exist`);
  });
  if (!found.isDirectory())
    throw new InputError(`working directory ${workdir} is a file, not a folder (--workdir names the project folder)`);
  const forbidden = await workdirRefusal(workdir);
  if (forbidden) throw new InputError(`refusing to run in ${workdir}: ${forbidden}; give a project folder (--workdir)`);

  const budget = config.llm.runBudget;
  if (budget?.usd !== undefined && !config.llm.pricing)
    throw new InputError(
      'a budget in US dollars needs llm.pricing in implement-agent.config.json (inputPerMTok, outputPerMTok)',
    );
  // Nothing left to do: said at once, without a server (a list re-run once it is all ticked).
  if (tasks.length === 0)
    throw new InputError(`no tasks in it: ${whyNoTasks(await readTasksFile(tasksFile))}`, { file: flags.tasksFile });
  if (tasks.every((t) => t.done)) {
    out(`nothing to do: all ${tasks.length} task(s) are ticked (${flags.tasksFile}); --force runs them again`);
    return 0;
  }
  // The heavy part (NATS, the actors) is loaded only for a run that has something to do. The
  // server (when the run starts its own) boots meanwhile: its start-up is hidden behind theirs.
  const nats = import('./nats-for.ts').then((m) => m.natsFor(config, workdir, { kind: 'run' }));
  nats.catch(() => {}); // the session awaits it and reports its failure
  const { runSession } = await import('./run-session.ts');
  return runSession({
    nats,
    config,
    configFile: configFile(cwd, flags.config),
    cwd,
    tasksFile,
    workdir,
    tasks,
    flags: { ...flags, replan, commit: flags.commit === true || config.git.commit === 'per-task' },
  });
}

/** The configuration keys the flags given override (the run option table's `config`). */
function configOverrides(flags: RunFlags): ConfigOverrides {
  const overrides: Record<string, Record<string, unknown>> = {};
  for (const [name, decl] of runOptionList()) {
    const given = flags[name];
    if (decl.config === undefined || given === undefined) continue;
    const [section, key] = decl.config.split('.') as [string, string];
    overrides[section] = { ...overrides[section], [key]: given };
  }
  return overrides;
}

/** The ids `--replan` names, checked against the list; none named: every task. */
function replanned(named: string[] | undefined, tasks: readonly TaskSpec[], file: string): string[] | undefined {
  if (named === undefined) return undefined;
  if (named.length === 0) return tasks.map((t) => t.id);
  const unknown = named.filter((id) => !tasks.some((t) => t.id === id));
  if (unknown.length)
    throw new InputError(
      `--replan names no task ${unknown.join(', ')} of ${file} (its tasks: ${tasks.map((t) => t.id).join(', ')})`,
    );
  return named;
}

async function readTasksFile(path: string): Promise<string> {
  const info = await stat(path).catch((cause: unknown) => {
    throw new InputError(`cannot read the task list: ${(cause as Error).message}`, { file: path }, { cause });
  });
  if (!info.isFile()) throw new InputError('not a file', { file: path });
  if (info.size > MAX_TASKS_FILE)
    throw new InputError(`task list is ${info.size} bytes; the limit is ${MAX_TASKS_FILE}`, { file: path });
  return readFile(path, 'utf8');
}

/** `run --dry --json`: the tasks as parsed (what tests and other tools read), and the warnings. */
function parsedTasksJson(file: string, tasks: readonly TaskSpec[], warnings: readonly ParseWarning[]) {
  return {
    file,
    tasks: tasks.map((t) => ({
      id: t.id,
      title: t.title,
      line: t.line,
      done: t.done,
      optional: t.optional,
      ...(t.parentId !== undefined ? { parentId: t.parentId } : {}),
      ...(t.depends !== undefined ? { depends: t.depends } : {}),
      requirements: t.requirements,
      criteria: { checks: t.success, words: t.criteria },
      commands: t.commands.length,
    })),
    warnings,
  };
}
