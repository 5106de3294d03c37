import { InputError } from '../errors.ts';
import { actorNames } from '../events/subjects.ts';
import { certDir, jsDomain, parse, port, positiveInt, siteName } from './args.ts';

// Each command's module is imported when that command runs: `--help` and the like load none of
// the heavy dependencies (NATS, openai, xstate), which is most of the start-up time.

/** Each command: its words read and checked, then run; returns the exit code. */
export const COMMANDS: Record<string, (rest: string[]) => Promise<number>> = {
  run: async (rest) => {
    const { parseRunFlags } = await import('./run-flags.ts');
    const { runTaskList } = await import('./run-cmd.ts');
    return runTaskList(parseRunFlags(rest));
  },
  up: async (rest) => {
    const { values } = parse(rest, { port: { type: 'string' }, site: { type: 'string' } });
    const { actorCommand } = await import('./actor-cmd.ts');
    return actorCommand(
      actorNames,
      1,
      values.port === undefined ? undefined : port(values.port as string),
      values.site as string | undefined,
    );
  },
  cluster: async (rest) => {
    const { values, positionals } = parse(rest, {
      nodes: { type: 'string' },
      site: { type: 'string' },
      domain: { type: 'string' },
      tls: { type: 'string' },
    });
    if (positionals.length !== 2 || positionals[0] !== 'init')
      throw new InputError(
        'usage: implement-agent cluster init DIR [--nodes HOST:PORT:ROUTE_PORT[:LEAF_PORT],...] [--site NAME] [--domain NAME] [--tls CERT_DIR]',
      );
    const [{ clusterInit }, { parseNodes }] = await Promise.all([
      import('./cluster-cmd.ts'),
      import('../security/cluster-config.ts'),
    ]);
    return clusterInit(
      positionals[1]!,
      values.nodes ? parseNodes(values.nodes as string) : undefined,
      values.site === undefined ? undefined : siteName(values.site as string),
      values.domain === undefined ? undefined : jsDomain(values.domain as string),
      values.tls === undefined ? undefined : certDir(values.tls as string),
    );
  },
  runs: async (rest) => {
    const { values, positionals } = parse(rest, { limit: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length) throw new InputError('runs takes no arguments (status <runId> shows one run)');
    const { runsCommand } = await import('./runs-cmd.ts');
    return runsCommand({
      limit: values.limit ? positiveInt(values.limit as string, '--limit') : 20,
      json: values.json === true,
    });
  },
  status: async (rest) => {
    const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new InputError('status takes one run id (`implement-agent runs` lists them)');
    const { statusCommand } = await import('./runs-cmd.ts');
    return statusCommand(positionals[0]!, values.json === true);
  },
  actor: async (rest) => {
    const { values, positionals } = parse(rest, { replicas: { type: 'string' }, site: { type: 'string' } });
    if (positionals.length !== 1) throw new InputError(`actor takes one name: ${actorNames.join(', ')}`);
    const { actorCommand } = await import('./actor-cmd.ts');
    return actorCommand(
      positionals,
      values.replicas ? positiveInt(values.replicas as string, '--replicas') : 1,
      undefined,
      values.site as string | undefined,
    );
  },
  watch: async (rest) => {
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
  },
  replay: async (rest) => {
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
  },
  tune: async (rest) => {
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
  },
  resume: async (rest) => {
    const { values, positionals } = parse(rest, { json: { type: 'boolean' }, budget: { type: 'string' } });
    if (positionals.length !== 1) throw new InputError('resume takes one run id');
    const { resumeCommand } = await import('./run-session.ts');
    return resumeCommand(positionals[0]!, values.json === true, values.budget as string | undefined);
  },
  llm: async (rest) => {
    const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
    if (positionals.length !== 1 || positionals[0] !== 'check')
      throw new InputError('usage: implement-agent llm check [--json]');
    const { llmCheckCommand } = await import('./llm-check-cmd.ts');
    return llmCheckCommand(values.json === true);
  },
  config: async (rest) => {
    const { values, positionals } = parse(rest, { schema: { type: 'boolean' }, config: { type: 'string' } });
    if (positionals.length) throw new InputError('config takes no arguments');
    const { configCommand } = await import('./config-cmd.ts');
    return configCommand({
      schema: values.schema === true,
      ...(values.config ? { file: values.config as string } : {}),
    });
  },
  diff: async (rest) => {
    const { values, positionals } = parse(rest, { stat: { type: 'boolean' }, json: { type: 'boolean' } });
    if (positionals.length < 1 || positionals.length > 2)
      throw new InputError('diff takes a run id and, optionally, a task id');
    const { diffCommand } = await import('./diff-cmd.ts');
    return diffCommand(positionals[0]!, positionals[1], { stat: values.stat === true, json: values.json === true });
  },
  revert: async (rest) => {
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
  },
  verify: async (rest) => {
    const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new InputError('verify takes one run id');
    const { verifyCommand } = await import('./verify-cmd.ts');
    return verifyCommand(positionals[0]!, values.json === true);
  },
  report: async (rest) => {
    const { values, positionals } = parse(rest, { out: { type: 'string' } });
    if (positionals.length !== 1) throw new InputError('report takes one run id (the run line of `run` shows it)');
    const { reportCommand } = await import('./report-cmd.ts');
    return reportCommand(positionals[0]!, values.out as string | undefined);
  },
  mcp: async (rest) => {
    const { values, positionals } = parse(rest, {
      http: { type: 'boolean' },
      port: { type: 'string' },
      tools: { type: 'string' },
    });
    if (positionals.length) throw new InputError('mcp takes no arguments');
    const { TOOL_TIERS } = await import('../mcp/tools.ts');
    const tools = (values.tools ?? 'core') as (typeof TOOL_TIERS)[number];
    if (!TOOL_TIERS.includes(tools)) throw new InputError(`--tools must be ${TOOL_TIERS.join(' or ')}, not "${tools}"`);
    if (values.port !== undefined && values.http !== true) throw new InputError('--port goes with --http');
    const { mcpCommand } = await import('../mcp/mcp-cmd.ts');
    return mcpCommand({
      tools,
      http: values.http === true,
      ...(values.port !== undefined ? { port: port(values.port as string) } : {}),
    });
  },
};
