import { AgentError, InputError } from '../errors.ts';
import { USAGE, helpFor } from './usage.ts';
import { out, err } from './terminal.ts';
import { COMMANDS } from './commands.ts';

async function main(args: string[]): Promise<number> {
  const argv = withServerFlag(args);
  const help = helpFor(argv);
  if (help) {
    out(help.text);
    return help.code;
  }
  const [command, ...rest] = argv;
  if (command === undefined || !Object.hasOwn(COMMANDS, command))
    throw new InputError(`unknown command "${command}"\n\n${USAGE}`);
  return COMMANDS[command]!(rest);
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
