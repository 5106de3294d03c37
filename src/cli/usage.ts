import { readFileSync } from 'node:fs';
import { actorNames } from '../events/subjects.ts';
import { flagWithArg, runOptionList, type RunOptionDecl } from '../events/run-option-table.ts';

// What the CLI prints without running anything: its usage, each command's help, its version.
// A module of its own, bundled on its own too (dist/cli/usage.cjs): bin/implement-agent.js
// answers `--help` from it without reading the whole CLI.

const RUN_PREFIX = '  implement-agent run <tasks.md> ';
const SYNOPSIS_WIDTH = 140;
const HELP_TEXT_WIDTH = 100;

/** `[--flag ARG]` for every run option (`[--dry [--plan]]` for one that goes with another), wrapped. */
function runSynopsis(): string {
  const decls = runOptionList().map(([, d]) => d);
  const shown = (d: RunOptionDecl): string => {
    const partner = decls.find((p) => p.with === d.flag);
    return `[${flagWithArg(d, true)}${partner ? ` ${shown(partner)}` : ''}]`;
  };
  const lines = [''];
  for (const d of decls.filter((d) => !d.helpOnly && d.with === undefined)) {
    const item = shown(d);
    if (RUN_PREFIX.length + lines.at(-1)!.length + item.length > SYNOPSIS_WIDTH) lines.push('');
    lines[lines.length - 1] += `${lines.at(-1) ? ' ' : ''}${item}`;
  }
  return lines.map((l, i) => (i === 0 ? RUN_PREFIX : ' '.repeat(RUN_PREFIX.length)) + l).join('\n');
}

/** One entry per run option: its flag, its text, its default and the configuration key it overrides. */
function runOptionsHelp(): string {
  const decls = runOptionList().map(([, d]) => d);
  const width = Math.max(...decls.map((d) => flagWithArg(d).length)) + 2;
  return decls
    .map((d) => {
      const notes = [d.default !== undefined ? `default ${d.default}` : '', d.config ? `config ${d.config}` : '']
        .filter(Boolean)
        .join('; ');
      const lines = d.help.split('\n');
      // The notes close the last line of text, or go on one of their own when it would be too long.
      if (notes && lines.at(-1)!.length + notes.length < HELP_TEXT_WIDTH) lines.push(`${lines.pop()!} (${notes})`);
      else if (notes) lines.push(`(${notes})`);
      return lines
        .map((l, i) => (i === 0 ? `  ${flagWithArg(d).padEnd(width)}` : ' '.repeat(width + 2)) + l)
        .join('\n');
    })
    .join('\n');
}

export const USAGE = `implement-agent: executes an implementation task list fast

usage:
${runSynopsis()}
  implement-agent resume <runId> [--budget N|$N] [--json]   continue a run whose CLI or actors died, that was interrupted, or ran out of budget
  implement-agent runs [--limit N] [--json]          recent runs: status, tasks done/failed, start, duration
  implement-agent status <runId> [--json]            one run and each of its tasks
  implement-agent up [--port N]           all actors in this process (and a local NATS if NATS_URL is unset)
  implement-agent actor <name> [--replicas N] [--site NAME]   one actor: ${actorNames.join(', ')}
  implement-agent cluster init DIR [--nodes HOST:PORT:ROUTE_PORT[:LEAF_PORT],...] [--site NAME] [--domain NAME] [--tls CERT_DIR]   the configs and credentials of a JetStream cluster with authentication
  implement-agent watch [--run ID] [--task ID] [--type T]... [--since SEQ|TIME|30s|start] [--json]   (no filter: the run under way)
  implement-agent replay [--from SEQ] [--projection plan-cache|recovery-stats|task-history|llm-capabilities] [--json]
  implement-agent tune --patterns FILE [--apply]
  implement-agent report <runId> [--out FILE.html]
  implement-agent diff <runId> [task] [--stat] [--json]   what the run (or one task) changed in the working directory
  implement-agent revert <runId> <task> [--force] [--with-dependants]   put a task's files back as they were, untick it
  implement-agent verify <runId> [--json]   check every completed task's criteria again against the tree as it is now
  implement-agent config [--schema]       the configuration in force here, or its JSON Schema
  implement-agent llm check [--json]      what the configured LLM endpoint accepts, and the config that pins it
  implement-agent mcp [--tools core|full] [--http [--port N]]   an MCP server for editors' agents (stdio, or HTTP on 127.0.0.1)

implement-agent <command> --help   more on one command;   implement-agent --version
-s, --server URL (any command): the NATS server, as NATS_URL; --creds FILE: its credentials, as NATS_CREDS
environment: NATS_URL, NATS_CREDS (or NATS_USER, NATS_PASSWORD), NATS_DOMAIN, OPENAI_API_KEY, OPENAI_BASE_URL, IMPLEMENT_AGENT_MODEL
exit codes: 0 every task succeeded, 1 a task failed, 2 bad input or configuration, 3 a task unverified,
  4 LLM budget reached, 5 NATS or the LLM unreachable, 130 interrupted (docs/ci.md)`;

/** Per-command help: usage, what it does, an example. */
const HELP: Record<string, string> = {
  run: `usage: implement-agent run <tasks.md> [options]

Plans, runs, recovers, verifies and ticks every open task of a task list.
${runOptionsHelp()}

example: implement-agent run .kiro/specs/search/tasks.md --workdir . --plan-ahead 6`,
  resume:
    'usage: implement-agent resume <runId> [--budget N|$N] [--json]\n\nFinishes a run whose CLI or actors died, that was interrupted, or that stopped at its LLM budget\n(--budget sets a new one: tokens, or US dollars with llm.pricing).\n\nexample: implement-agent resume r1a2b3c4d --budget 200k',
  llm: `usage: implement-agent llm check [--json]

Sends one small structured request to the configured endpoint (OPENAI_BASE_URL, IMPLEMENT_AGENT_MODEL,
implement-agent.config.json) and prints the model, the latency, what the endpoint accepted and what was
degraded, and the config lines that pin it. What it learns is recorded, so runs start from it.

example: OPENAI_BASE_URL=http://127.0.0.1:11434/v1 IMPLEMENT_AGENT_MODEL=qwen3 implement-agent llm check`,
  up: 'usage: implement-agent up [--port N]\n\nRuns every actor in this process (and a local nats-server when NATS_URL is unset, on port N or a free one), in the foreground.\n\nexample: implement-agent up --port 4222   # then NATS_URL=nats://127.0.0.1:4222 in other terminals',
  cluster: `usage: implement-agent cluster init DIR [--nodes HOST:PORT:ROUTE_PORT[:LEAF_PORT],...] [--site NAME] [--domain NAME] [--tls CERT_DIR]

Writes, owner only, what a JetStream cluster needs to run with authentication on: credentials.json
(a password per role, made once and kept: every process is given it with NATS_CREDS or --creds),
auth.conf (each role's user and rights, generated from the roles table at every init) and one
nodeN.conf per node, including auth.conf, its routes authenticated (written when there are none,
or anew with --nodes). Default: three nodes on loopback, 127.0.0.1:24221-24223 (routes 26221-26223).
No monitoring port. Keep DIR in your home folder, which commands run by the tool never see.
--site NAME: that site gets a password and a user (site-NAME, which takes work only from its own
queue) and DIR/site-NAME.json, its password alone, for the site's machine (docs/scaling.md).
--domain NAME: the nodes are that JetStream domain and take leaf node links (LEAF_PORT, default
7422), the rights address it, and each --site also gets DIR/site-NAME.leaf.conf, its own
nats-server as a leaf node (a site behind NAT); every process then sets NATS_DOMAIN=NAME.
--tls CERT_DIR: clients, routes and leaf links use TLS; node N's machine keeps CERT_DIR/nodeN.pem
and nodeN-key.pem, every machine CERT_DIR/ca.pem (NATS_CA=CERT_DIR/ca.pem for every process;
name the nodes by host name in --nodes, as their certificates do). Kept by later inits.

example: implement-agent cluster init ~/ia-cluster --nodes 10.0.0.1:4222:6222,10.0.0.2:4222:6222,10.0.0.3:4222:6222`,
  runs: 'usage: implement-agent runs [--limit N] [--json]\n\nLists the runs in the log, newest first: id, status, tasks done/failed, start, duration, tasks file.\n\nexample: implement-agent runs --limit 5',
  status:
    'usage: implement-agent status <runId> [--json]\n\nShows one run and each of its tasks (state, time, why it failed).\n\nexample: implement-agent status r1a2b3c4d',
  actor: `usage: implement-agent actor <name> [--replicas N] [--site NAME]\n\nRuns one actor: ${actorNames.join(', ')}. --site NAME: an executor of that site (docs/scaling.md).\n\nexample: NATS_URL=nats://127.0.0.1:4222 implement-agent actor executor --replicas 2`,
  watch:
    "usage: implement-agent watch [--run ID] [--task ID] [--type T]... [--since SEQ|TIME|30s|5m|1h|start] [--json]\n\nFollows the event log of the project's running server (a run's, `up`'s; or -s URL). With no filter it follows the run under way;\n--type may be given several times (or T1,T2); with --run it stops when that run finishes.\n\nexample: implement-agent watch --type TaskFailed --type RecoveryFailed --since 1h",
  replay:
    'usage: implement-agent replay [--from SEQ] [--projection plan-cache|recovery-stats|task-history|llm-capabilities] [--json]\n\nRebuilds projections from the log, running nothing.',
  tune: 'usage: implement-agent tune --patterns FILE [--apply] [--json]\n\nReplays recorded failures against a candidate pattern database.',
  mcp: `usage: implement-agent mcp [--tools core|full] [--http [--port N]]

An MCP server for the project in this folder, over stdio (default) or Streamable HTTP on
127.0.0.1 (--http; --port N, else a free port, printed on stderr). --tools core (default):
list_tasks, start_run, resume_run, run_status, follow_run, interrupt_run, task_diff, revert_task;
full adds plan_tasks, verify_run, list_runs. Resources: implement-agent://runs/<runId>/report and /events.

example: claude mcp add implement-agent -- npx implement-agent mcp`,
  report:
    'usage: implement-agent report <runId> [--out FILE.html]\n\nWrites a self-contained HTML timeline of a run (by default to .implement-agent/reports/<runId>.html).',
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

/**
 * What `args` (with `-s URL` taken out) asks to be printed instead of run: `--version`, `help`,
 * `<command> --help`, nothing at all (the usage, exit 2). Undefined for a command to run.
 */
export function helpFor(args: readonly string[]): { text: string; code: number } | undefined {
  const [command, ...rest] = args;
  if (command === '--version' || command === '-V') return { text: `implement-agent ${version()}`, code: 0 };
  const topic = command === 'help' ? rest[0] : rest.includes('--help') || rest.includes('-h') ? command : undefined;
  const text = topic === undefined ? undefined : HELP[topic];
  if (text !== undefined) return { text, code: 0 };
  if (command === undefined || command === 'help' || command === '--help' || command === '-h')
    return { text: USAGE, code: command === undefined ? 2 : 0 };
  return undefined;
}
