import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CONCURRENCY_SPLIT } from '../config-renames.ts';
import { AgentError, InputError } from '../errors.ts';
import { CONTINUE_POLICIES, type ContinuePolicy } from '../events/continue-policy.ts';
import { LLM_MODES, type LlmMode } from '../events/llm-mode.ts';
import { actorNames } from '../events/subjects.ts';

// Each command's module is imported when that command runs: `--help` and the like load none of
// the heavy dependencies (NATS, openai, xstate), which is most of the start-up time.

const USAGE = `implement-agent: executes an implementation task list fast

usage:
  implement-agent run <tasks.md> [--workdir DIR] [--llm openai|offline] [--task-concurrency N] [--command-concurrency N] [--plan-ahead N]
                      [--continue never|dependencies-successful|always] [--skip-optional] [--budget N|$N] [--commit] [--verify] [--force] [--json] [--dry]
  implement-agent resume <runId> [--budget N|$N] [--json]   continue a run whose CLI or actors died, that was interrupted, or ran out of budget
  implement-agent runs [--limit N] [--json]          recent runs: status, tasks done/failed, start, duration
  implement-agent status <runId> [--json]            one run and each of its tasks
  implement-agent up [--port N]           all actors in this process (and a local NATS if NATS_URL is unset)
  implement-agent actor <name> [--replicas N]   one actor: ${actorNames.join(', ')}
  implement-agent watch [--run ID] [--task ID] [--type T]... [--since SEQ|TIME|30s|start] [--json]
  implement-agent replay [--from SEQ] [--projection plan-cache|recovery-stats|task-history|llm-capabilities] [--json]
  implement-agent tune --patterns FILE [--apply]
  implement-agent report <runId> [--out FILE.html]
  implement-agent diff <runId> [task] [--stat] [--json]   what the run (or one task) changed in the working directory
  implement-agent revert <runId> <task> [--force] [--with-dependants]   put a task's files back as they were, untick it
  implement-agent verify <runId> [--json]   check every completed task's criteria again against the tree as it is now
  implement-agent config [--schema]       the configuration in force here, or its JSON Schema
  implement-agent llm check [--json]      what the configured LLM endpoint accepts, and the config that pins it

implement-agent <command> --help   more on one command;   implement-agent --version
-s, --server URL (any command): the NATS server, as NATS_URL
environment: NATS_URL, OPENAI_API_KEY, OPENAI_BASE_URL, IMPLEMENT_AGENT_MODEL
exit codes: 0 every task succeeded, 1 a task failed, 2 bad input or configuration`;

/** Per-command help: usage, what it does, an example. */
const HELP: Record<string, string> = {
  run: `usage: implement-agent run <tasks.md> [options]

Plans, runs, recovers, verifies and ticks every open task of a task list.
  --workdir DIR          where commands run (default: the current folder)
  --llm openai|offline   the planner (default: openai when OPENAI_API_KEY or OPENAI_BASE_URL is set)
  --task-concurrency N   tasks running at once (default 3)
  --command-concurrency N  commands of one task running at once, where their dependencies allow (default 3)
  --plan-ahead N         tasks planned at once ahead of execution (default 4; 0: plan when a task may start)
  --continue P           never | dependencies-successful (default) | always, after a task fails
  --skip-optional        record \`[ ]*\` tasks as skipped instead of running them
  --budget N|$N          what the run may spend on the LLM: tokens (50000, 50k) or US dollars ($2, needs llm.pricing);
                         once spent, tasks that need the LLM wait and the run stops for \`resume --budget\`
  --commit               in a git repository, one commit per completed task holding exactly its files
                         (files dirty before the run are never committed); also \`git.commit: "per-task"\`
  --verify               once the run is over, check every completed task's criteria again (as \`verify\`)
  --force                run tasks already ticked too
  --dry                  print each plan and its command graph; run nothing
  --json                 print the run's events as NDJSON
  --config FILE          another implement-agent.config.json

example: implement-agent run .kiro/specs/search/tasks.md --workdir . --plan-ahead 6`,
  resume:
    'usage: implement-agent resume <runId> [--budget N|$N] [--json]\n\nFinishes a run whose CLI or actors died, that was interrupted, or that stopped at its LLM budget\n(--budget sets a new one: tokens, or US dollars with llm.pricing).\n\nexample: implement-agent resume r1a2b3c4d --budget 200k',
  llm: `usage: implement-agent llm check [--json]

Sends one small structured request to the configured endpoint (OPENAI_BASE_URL, IMPLEMENT_AGENT_MODEL,
implement-agent.config.json) and prints the model, the latency, what the endpoint accepted and what was
degraded, and the config lines that pin it. What it learns is recorded, so runs start from it.

example: OPENAI_BASE_URL=http://127.0.0.1:11434/v1 IMPLEMENT_AGENT_MODEL=qwen3 implement-agent llm check`,
  up: 'usage: implement-agent up [--port N]\n\nRuns every actor in this process (and a local nats-server when NATS_URL is unset, on port N or a free one), in the foreground.\n\nexample: implement-agent up --port 4222   # then NATS_URL=nats://127.0.0.1:4222 in other terminals',
  runs: 'usage: implement-agent runs [--limit N] [--json]\n\nLists the runs in the log, newest first: id, status, tasks done/failed, start, duration, tasks file.\n\nexample: implement-agent runs --limit 5',
  status:
    'usage: implement-agent status <runId> [--json]\n\nShows one run and each of its tasks (state, time, why it failed).\n\nexample: implement-agent status r1a2b3c4d',
  actor: `usage: implement-agent actor <name> [--replicas N]\n\nRuns one actor: ${actorNames.join(', ')}.\n\nexample: NATS_URL=nats://127.0.0.1:4222 implement-agent actor executor --replicas 2`,
  watch:
    'usage: implement-agent watch [--run ID] [--task ID] [--type T]... [--since SEQ|TIME|30s|5m|1h|start] [--json]\n\nFollows the event log of a running system (needs NATS_URL or -s). --type may be given several times (or T1,T2);\nwith --run it stops when that run finishes.\n\nexample: implement-agent watch -s nats://127.0.0.1:4222 --type TaskFailed --type RecoveryFailed --since 1h',
  replay:
    'usage: implement-agent replay [--from SEQ] [--projection plan-cache|recovery-stats|task-history|llm-capabilities] [--json]\n\nRebuilds projections from the log, running nothing.',
  tune: 'usage: implement-agent tune --patterns FILE [--apply] [--json]\n\nReplays recorded failures against a candidate pattern database.',
  report: 'usage: implement-agent report <runId> [--out FILE.html]\n\nWrites a self-contained HTML timeline of a run.',
  diff: `usage: implement-agent diff <runId> [task] [--stat] [--json]

A unified diff of what a run (or one of its tasks) changed in the working directory, from the contents
recorded before and after each task. Tasks reverted or rolled back are left out of the run's diff.
  --stat   a line per file with its insertions and deletions
  --json   the changed files, their content hashes and line counts

example: implement-agent diff r1a2b3c4d 3 --stat`,
  revert: `usage: implement-agent revert <runId> <task> [--force] [--with-dependants]

Puts back what a task changed: each file gets its content from before the task, but only where it still
holds what the task left. A file changed since (by a later task or by hand) is a conflict: it is named and
nothing is written (exit 1) unless --force. The task's box is unticked and TaskReverted recorded; a task
committed with --commit gets a revert commit.
  --with-dependants   revert the tasks that depend on it first, the latest first

example: implement-agent revert r1a2b3c4d 3`,
  verify: `usage: implement-agent verify <runId> [--json]

Runs every completed task's success criteria again against the working directory as it is now. A
criterion that held when its task completed and fails now is a regression: it is reported with the later
tasks whose recorded changes touched the files it reads (or, when that cannot be told, the tasks that ran
after it) and recorded as RunVerified. Exit 0 no regression, 1 a regression.

example: implement-agent verify r1a2b3c4d`,
  config:
    'usage: implement-agent config [--schema] [--config FILE]\n\nPrints the configuration in force in this folder (implement-agent.config.json, environment, defaults;\nthe API key shown as [set]), or with --schema the JSON Schema of the config file.\n\nexample: implement-agent config --schema > implement-agent.config.schema.json',
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(args: string[]): Promise<number> {
  const argv = withServerFlag(args);
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V') {
    process.stdout.write(`implement-agent ${version()}\n`);
    return 0;
  }
  const helpFor = command === 'help' ? rest[0] : rest.includes('--help') || rest.includes('-h') ? command : undefined;
  if (helpFor !== undefined && HELP[helpFor]) {
    process.stdout.write(`${HELP[helpFor]}\n`);
    return 0;
  }
  switch (command) {
    case 'run': {
      const { values, positionals } = parse(rest, {
        workdir: { type: 'string' },
        llm: { type: 'string' },
        'task-concurrency': { type: 'string' },
        'command-concurrency': { type: 'string' },
        concurrency: { type: 'string' },
        'plan-ahead': { type: 'string' },
        'skip-optional': { type: 'boolean' },
        commit: { type: 'boolean' },
        verify: { type: 'boolean' },
        continue: { type: 'string' },
        config: { type: 'string' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
        dry: { type: 'boolean' },
        budget: { type: 'string' },
      });
      if (values.concurrency !== undefined) throw new InputError(CONCURRENCY_SPLIT.flag);
      if (positionals.length !== 1) throw new InputError('run takes exactly one tasks.md path');
      const llm = values.llm as LlmMode | undefined;
      if (llm !== undefined && !LLM_MODES.includes(llm))
        throw new InputError(`--llm must be ${LLM_MODES.join(' or ')}, not "${llm}"`);
      const policy = values.continue as ContinuePolicy | undefined;
      if (policy !== undefined && !CONTINUE_POLICIES.includes(policy))
        throw new InputError(`--continue must be one of ${CONTINUE_POLICIES.join(', ')}, not "${policy}"`);
      const { runCommand } = await import('./run-cmd.ts');
      return runCommand({
        tasksFile: positionals[0]!,
        ...(values.workdir ? { workdir: values.workdir as string } : {}),
        ...(llm ? { llm } : {}),
        ...(values['task-concurrency']
          ? { taskConcurrency: positiveInt(values['task-concurrency'] as string, '--task-concurrency') }
          : {}),
        ...(values['command-concurrency']
          ? { commandConcurrency: positiveInt(values['command-concurrency'] as string, '--command-concurrency') }
          : {}),
        ...(values['plan-ahead'] !== undefined
          ? { planAhead: wholeNumber(values['plan-ahead'] as string, '--plan-ahead') }
          : {}),
        skipOptional: values['skip-optional'] === true,
        commit: values.commit === true,
        verify: values.verify === true,
        ...(policy ? { continuePolicy: policy } : {}),
        ...(values.config ? { config: values.config as string } : {}),
        force: values.force === true,
        json: values.json === true,
        dry: values.dry === true,
        ...(values.budget !== undefined ? { budget: values.budget as string } : {}),
      });
    }
    case 'up': {
      const { values } = parse(rest, { port: { type: 'string' } });
      const { actorCommand } = await import('./actor-cmd.ts');
      return actorCommand(actorNames, 1, values.port === undefined ? undefined : port(values.port as string));
    }
    case 'runs': {
      const { values, positionals } = parse(rest, { limit: { type: 'string' }, json: { type: 'boolean' } });
      if (positionals.length) throw new InputError('runs takes no arguments (status <runId> shows one run)');
      const { runsCommand } = await import('./runs-cmd.ts');
      return runsCommand({
        limit: values.limit ? positiveInt(values.limit as string, '--limit') : 20,
        json: values.json === true,
      });
    }
    case 'status': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
      if (positionals.length !== 1) throw new InputError('status takes one run id (`implement-agent runs` lists them)');
      const { statusCommand } = await import('./runs-cmd.ts');
      return statusCommand(positionals[0]!, values.json === true);
    }
    case 'actor': {
      const { values, positionals } = parse(rest, { replicas: { type: 'string' } });
      if (positionals.length !== 1) throw new InputError(`actor takes one name: ${actorNames.join(', ')}`);
      const { actorCommand } = await import('./actor-cmd.ts');
      return actorCommand(positionals, values.replicas ? positiveInt(values.replicas as string, '--replicas') : 1);
    }
    case 'watch': {
      const { values } = parse(rest, {
        run: { type: 'string' },
        task: { type: 'string' },
        type: { type: 'string', multiple: true },
        since: { type: 'string' },
        json: { type: 'boolean' },
      });
      const { watchCommand } = await import('./watch-cmd.ts');
      return watchCommand({
        ...(values.run ? { run: values.run as string } : {}),
        ...(values.task ? { task: values.task as string } : {}),
        ...(values.type ? { types: values.type as string[] } : {}),
        ...(values.since ? { since: values.since as string } : {}),
        json: values.json === true,
      });
    }
    case 'replay': {
      const { values } = parse(rest, {
        from: { type: 'string' },
        projection: { type: 'string' },
        json: { type: 'boolean' },
      });
      const { replayCommand } = await import('./replay-cmd.ts');
      return replayCommand({
        ...(values.from ? { from: positiveInt(values.from as string, '--from') } : {}),
        ...(values.projection ? { projection: values.projection as string } : {}),
        json: values.json === true,
      });
    }
    case 'tune': {
      const { values } = parse(rest, {
        patterns: { type: 'string' },
        apply: { type: 'boolean' },
        json: { type: 'boolean' },
      });
      if (!values.patterns) throw new InputError('tune needs --patterns FILE (a candidate pattern database)');
      const { tuneCommand } = await import('./tune-cmd.ts');
      return tuneCommand({
        patterns: values.patterns as string,
        apply: values.apply === true,
        json: values.json === true,
      });
    }
    case 'resume': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' }, budget: { type: 'string' } });
      if (positionals.length !== 1) throw new InputError('resume takes one run id');
      const { resumeCommand } = await import('./run-session.ts');
      return resumeCommand(positionals[0]!, values.json === true, values.budget as string | undefined);
    }
    case 'llm': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
      if (positionals.length !== 1 || positionals[0] !== 'check')
        throw new InputError('usage: implement-agent llm check [--json]');
      const { llmCheckCommand } = await import('./llm-check-cmd.ts');
      return llmCheckCommand(values.json === true);
    }
    case 'config': {
      const { values, positionals } = parse(rest, { schema: { type: 'boolean' }, config: { type: 'string' } });
      if (positionals.length) throw new InputError('config takes no arguments');
      const { configCommand } = await import('./config-cmd.ts');
      return configCommand({
        schema: values.schema === true,
        ...(values.config ? { file: values.config as string } : {}),
      });
    }
    case 'diff': {
      const { values, positionals } = parse(rest, { stat: { type: 'boolean' }, json: { type: 'boolean' } });
      if (positionals.length < 1 || positionals.length > 2)
        throw new InputError('diff takes a run id and, optionally, a task id');
      const { diffCommand } = await import('./diff-cmd.ts');
      return diffCommand(positionals[0]!, positionals[1], { stat: values.stat === true, json: values.json === true });
    }
    case 'revert': {
      const { values, positionals } = parse(rest, {
        force: { type: 'boolean' },
        'with-dependants': { type: 'boolean' },
      });
      if (positionals.length !== 2) throw new InputError('revert takes a run id and a task id');
      const { revertCommand } = await import('./revert-cmd.ts');
      return revertCommand(positionals[0]!, positionals[1]!, {
        force: values.force === true,
        withDependants: values['with-dependants'] === true,
      });
    }
    case 'verify': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
      if (positionals.length !== 1) throw new InputError('verify takes one run id');
      const { verifyCommand } = await import('./verify-cmd.ts');
      return verifyCommand(positionals[0]!, values.json === true);
    }
    case 'report': {
      const { values, positionals } = parse(rest, { out: { type: 'string' } });
      if (positionals.length !== 1) throw new InputError('report takes one run id (the run line of `run` shows it)');
      const { reportCommand } = await import('./report-cmd.ts');
      return reportCommand(positionals[0]!, values.out as string | undefined);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new InputError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

function parse(args: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']) {
  // `--task-concurrency -1`: a value that starts with a dash is taken as the option's value (then
  // checked like any other) rather than refused as "ambiguous".
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const takesValue = a.startsWith('--') && options?.[a.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && /^-\d/.test(next)) joined.push(`${a}=${args[++i]}`);
    else joined.push(a);
  }
  try {
    return parseArgs({ args: joined, options: options ?? {}, allowPositionals: true, strict: true });
  } catch (cause) {
    const message = (cause as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '');
    throw new InputError(message, undefined, { cause });
  }
}

/** `-s URL` / `--server URL` / `--server=URL` anywhere: the NATS server, as NATS_URL. */
function withServerFlag(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-s' || a === '--server') {
      const url = args[++i];
      if (!url || url.startsWith('-')) throw new InputError(`${a} needs a NATS URL, e.g. ${a} nats://127.0.0.1:4222`);
      process.env.NATS_URL = url;
    } else if (a.startsWith('--server=')) {
      process.env.NATS_URL = a.slice('--server='.length);
    } else {
      out.push(a);
    }
  }
  return out;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65_535)
    throw new InputError(`--port must be a TCP port (1-65535), not "${value}"`);
  return n;
}

function wholeNumber(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InputError(`${flag} must be a whole number (0 or more), not "${value}"`);
  return n;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag} must be a positive whole number, not "${value}"`);
  return n;
}

// `implement-agent run ... | head` closes our stdout early: stop printing, but let the run finish.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = error instanceof AgentError ? error.exitCode : 1;
    process.stderr.write(
      `implement-agent: ${error instanceof AgentError ? error.message : ((error as Error).stack ?? String(error))}\n`,
    );
    process.exitCode = code;
  },
);
