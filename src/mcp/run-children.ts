import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { CLI_BIN, type ChildContext } from './cli-child.ts';

/** A `run --json` this server started: its process, and its exit once over. */
type RunChild = { process: ResultPromise; exit: Promise<number>; code?: number; stderr: string };

/**
 * The runs this server started, each a child `implement-agent run … --json` keyed by its run id.
 * A child, not this process: a run keeps its own signals (SIGINT records the interruption), its
 * own hosted actors and its exit code; this server only needs the run id, which the first event
 * line names. Everything else about the run is read from the log, by run id.
 */
export class RunChildren {
  private readonly runs = new Map<string, RunChild>();
  constructor(private readonly context: ChildContext) {}

  /** Starts `run …` or `resume … --json`; resolves with the run id once the run is recorded, or the CLI's error if it ends first. */
  start(args: string[]): Promise<{ runId: string } | { code: number; stderr: string; stdout: string }> {
    const child = execa(process.execPath, [CLI_BIN, ...args, '--json'], {
      cwd: this.context.cwd,
      env: this.context.env,
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      buffer: { stdout: false },
    });
    const entry: RunChild = { process: child, exit: child.then((r) => r.exitCode ?? 1), stderr: '' };
    child.stderr?.on('data', (chunk: Buffer) => {
      entry.stderr = (entry.stderr + chunk.toString()).slice(-8192);
    });
    const stdout: string[] = [];
    return new Promise((resolve) => {
      let runId: string | undefined;
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (runId !== undefined) return;
        const named = /^\{.*"runId":"([A-Za-z0-9_-]+)"/.exec(line)?.[1];
        if (!named) return void stdout.push(line);
        runId = named;
        this.runs.set(runId, entry);
        resolve({ runId });
      });
      void entry.exit.then((code) => {
        entry.code = code;
        if (runId === undefined) resolve({ code, stderr: entry.stderr, stdout: stdout.join('\n') });
      });
    });
  }

  /** The exit code of a run this server started and that is over; undefined while it runs or if another process runs it. */
  exitCode(runId: string): number | undefined {
    return this.runs.get(runId)?.code;
  }

  /** Whether this server's child runs it now. */
  running(runId: string): boolean {
    const run = this.runs.get(runId);
    return run !== undefined && run.code === undefined;
  }

  /** Ctrl-C to a run this server runs: it records the interruption and lets its tasks in flight finish. */
  interrupt(runId: string): Promise<number> | undefined {
    const run = this.runs.get(runId);
    if (!run || run.code !== undefined) return undefined;
    run.process.kill('SIGINT');
    return run.exit;
  }

  /** Interrupts every run still going and waits for them: the server's NATS ends with it. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.runs.keys()].flatMap((id) => this.interrupt(id) ?? []));
  }
}
