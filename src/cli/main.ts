import { parseArgs } from 'node:util';
import { CONCURRENCY_SPLIT } from '../config-renames.ts';
import { AgentError, InputError } from '../errors.ts';
import { CONTINUE_POLICIES, type ContinuePolicy } from '../events/continue-policy.ts';
import { LLM_MODES, type LlmMode } from '../events/llm-mode.ts';
import { actorNames } from '../events/subjects.ts';
import { USAGE, helpFor } from './usage.ts';
import { out, err } from './terminal.ts';

// Each command's module is imported when that command runs: `--help` and the like load none of
// the heavy dependencies (NATS, openai, xstate), which is most of the start-up time.

async function main(args: string[]): Promise<number> {
  const argv = withServerFlag(args);
  const help = helpFor(argv);
  if (help) {
    out(help.text);
    return help.code;
  }
  const [command, ...rest] = argv;
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
        plan: { type: 'boolean' },
        budget: { type: 'string' },
        'pause-after': { type: 'string' },
        replan: { type: 'boolean' },
      });
      if (values.concurrency !== undefined) throw new InputError(CONCURRENCY_SPLIT.flag);
      // `run tasks.md --replan 2 3`: the words after the list are the tasks to plan anew.
      if (positionals.length !== 1 && !(values.replan && positionals.length > 1))
        throw new InputError('run takes exactly one tasks.md path (and, after --replan, task ids)');
      const llm = values.llm as LlmMode | undefined;
      if (llm !== undefined && !LLM_MODES.includes(llm))
        throw new InputError(`--llm must be ${LLM_MODES.join(' or ')}, not "${llm}"`);
      const policy = values.continue as ContinuePolicy | undefined;
      if (policy !== undefined && !CONTINUE_POLICIES.includes(policy))
        throw new InputError(`--continue must be one of ${CONTINUE_POLICIES.join(', ')}, not "${policy}"`);
      const { runTaskList } = await import('./run-cmd.ts');
      return runTaskList({
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
        plan: values.plan === true,
        ...(values.budget !== undefined ? { budget: values.budget as string } : {}),
        ...(values['pause-after'] !== undefined
          ? { pauseAfter: positiveInt(values['pause-after'] as string, '--pause-after') }
          : {}),
        ...(values.replan ? { replan: positionals.slice(1) } : {}),
      });
    }
    case 'up': {
      const { values } = parse(rest, { port: { type: 'string' }, site: { type: 'string' } });
      const { actorCommand } = await import('./actor-cmd.ts');
      return actorCommand(
        actorNames,
        1,
        values.port === undefined ? undefined : port(values.port as string),
        values.site as string | undefined,
      );
    }
    case 'cluster': {
      const { values, positionals } = parse(rest, { nodes: { type: 'string' } });
      if (positionals.length !== 2 || positionals[0] !== 'init')
        throw new InputError('usage: implement-agent cluster init DIR [--nodes HOST:PORT:ROUTE_PORT,...]');
      const [{ clusterInit }, { parseNodes }] = await Promise.all([
        import('./cluster-cmd.ts'),
        import('../security/cluster-config.ts'),
      ]);
      return clusterInit(positionals[1]!, values.nodes ? parseNodes(values.nodes as string) : undefined);
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
      const { values, positionals } = parse(rest, { replicas: { type: 'string' }, site: { type: 'string' } });
      if (positionals.length !== 1) throw new InputError(`actor takes one name: ${actorNames.join(', ')}`);
      const { actorCommand } = await import('./actor-cmd.ts');
      return actorCommand(
        positionals,
        values.replicas ? positiveInt(values.replicas as string, '--replicas') : 1,
        undefined,
        values.site as string | undefined,
      );
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
    case 'mcp': {
      const { values, positionals } = parse(rest, {
        http: { type: 'boolean' },
        port: { type: 'string' },
        tools: { type: 'string' },
      });
      if (positionals.length) throw new InputError('mcp takes no arguments');
      const { TOOL_TIERS } = await import('../mcp/tools.ts');
      const tools = (values.tools ?? 'core') as (typeof TOOL_TIERS)[number];
      if (!TOOL_TIERS.includes(tools))
        throw new InputError(`--tools must be ${TOOL_TIERS.join(' or ')}, not "${tools}"`);
      if (values.port !== undefined && values.http !== true) throw new InputError('--port goes with --http');
      const { mcpCommand } = await import('../mcp/mcp-cmd.ts');
      return mcpCommand({
        tools,
        http: values.http === true,
        ...(values.port !== undefined ? { port: port(values.port as string) } : {}),
      });
    }
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

/** `-s URL` / `--server URL` anywhere: the NATS server, as NATS_URL; `--creds FILE`: its credentials, as NATS_CREDS. */
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
    } else if (a === '--creds') {
      const file = args[++i];
      if (!file || file.startsWith('-'))
        throw new InputError(`${a} needs a credentials file (a .creds file or a store's credentials.json)`);
      process.env.NATS_CREDS = file;
    } else if (a.startsWith('--creds=')) {
      process.env.NATS_CREDS = a.slice('--creds='.length);
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
    err(`implement-agent: ${error instanceof AgentError ? error.message : ((error as Error).stack ?? String(error))}`);
    process.exitCode = code;
  },
);
