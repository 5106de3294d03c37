import { execa } from 'execa';
import type { CommandGroup } from './cgroup.ts';
import type { LimitEvents } from './limits.ts';
import { OutputCapture } from './output-capture.ts';
import type { Redact } from './redaction.ts';

export type ShellCommandOptions = {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Characters of each stream kept for the event. */
  tailChars: number;
  /** Bytes of output kept whole for the object store; past it the output is truncated. */
  keepBytes: number;
  heartbeatMs?: number;
  onHeartbeat?: (elapsedMs: number, lastLine: string) => void;
  killGraceMs?: number;
  /** Blanks secrets out of the captured output before anyone sees it; says which rules fired. */
  redact?: Redact;
  /** What runs `bash -c COMMAND` (cgroup, network namespace, bubblewrap, rlimits: `commandPrefix` in sandbox.ts). */
  prefix?: string[];
  /** The command's cgroup: every process in it is killed when bash exits, setsid children too. */
  group?: CommandGroup;
  /** Called (and awaited) once the process group exists: where its id gets recorded. */
  onStart?: (pgid: number | undefined) => Promise<void>;
};

export type CommandResult = {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  startedAt: string;
  stdoutTail: string;
  stderrTail: string;
  truncated: boolean;
  /** The output (stdout then stderr, up to keepBytes each) when the tails do not hold all of it. */
  fullOutput?: string;
  /** Redaction rules that fired on this output. */
  redacted: string[];
  /** What the command's cgroup counted against its limits, where it had one. */
  counted?: LimitEvents;
};

/** Process groups we started and have not reaped: killed on shutdown so nothing outlives us. */
const liveGroups = new Set<number>();

/** Ends a process group a dead executor left behind (its id recorded in CommandStarted). */
export function killOrphanGroup(pgid: number): void {
  killGroup(pgid, 'SIGKILL');
}

export function killAllCommandGroups(): void {
  for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}

// Whatever way this process ends, no command it started outlives it.
process.once('exit', killAllCommandGroups);

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/**
 * Runs one command with bash in its own process group. A timeout signals the whole group
 * (grandchildren too: TERM, then KILL after a grace period), and when bash exits, whatever it
 * left running in its group is killed, so no command outlives its result.
 */
export async function runShellCommand(command: string, options: ShellCommandOptions): Promise<CommandResult> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const [file = 'bash', ...args] = [...(options.prefix ?? []), 'bash', '-c', command];
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    detached: true,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    cleanup: true,
  });
  const pgid = child.pid;
  if (pgid !== undefined) liveGroups.add(pgid);
  const stdout = new OutputCapture(options.tailChars, options.keepBytes);
  const stderr = new OutputCapture(options.tailChars, options.keepBytes);
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

  let timedOut = false;
  const grace = options.killGraceMs ?? 2000;
  let killTimer: NodeJS.Timeout | undefined;
  const timeout = setTimeout(() => {
    timedOut = true;
    if (pgid === undefined) return;
    killGroup(pgid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(pgid, 'SIGKILL'), grace);
  }, options.timeoutMs);
  const heartbeat =
    options.onHeartbeat && options.heartbeatMs
      ? setInterval(
          () => options.onHeartbeat!(Date.now() - started, stdout.lastLine() || stderr.lastLine()),
          options.heartbeatMs,
        )
      : undefined;
  // bash is gone: reap what it left in its group (and its cgroup: a setsid child left the group),
  // or their open pipes would hold the result back.
  let ended: Promise<LimitEvents> | undefined;
  child.on('exit', () => {
    if (pgid !== undefined) killGroup(pgid, 'SIGKILL');
    ended = options.group?.end();
  });

  if (options.onStart) await options.onStart(pgid);
  const result = await child;
  const counted = await (ended ?? options.group?.end());
  clearTimeout(timeout);
  if (killTimer) clearTimeout(killTimer);
  if (heartbeat) clearInterval(heartbeat);
  if (pgid !== undefined) liveGroups.delete(pgid);

  const fired = new Set<string>();
  const redact = (text: string) => {
    if (!options.redact) return text;
    const out = options.redact.scan(text);
    for (const rule of out.rules) fired.add(rule);
    return out.text;
  };
  // bash itself could not start (missing binary, bad cwd): report it as the shell would, 127.
  const spawnFailed = result.exitCode === undefined && result.signal === undefined && !timedOut;
  if (spawnFailed) stderr.push(Buffer.from(`${result.shortMessage}\n`));
  const truncated = stdout.overflowed || stderr.overflowed;
  return {
    exitCode: spawnFailed ? 127 : (result.exitCode ?? null),
    signal: result.signal ?? null,
    timedOut,
    durationMs: Date.now() - started,
    startedAt,
    stdoutTail: redact(stdout.tail()),
    stderrTail: redact(stderr.tail()),
    truncated,
    ...(truncated ? { fullOutput: redact(`${stdout.kept()}\n--- stderr ---\n${stderr.kept()}`) } : {}),
    redacted: [...fired].sort(),
    ...(counted ? { counted } : {}),
  };
}
