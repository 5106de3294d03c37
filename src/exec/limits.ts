import * as z from 'zod';

/** What one command may use, confined or not: `execution.limits` in the configuration. */
export const LimitsSchema = z
  .object({
    /** All its processes together (a cgroup where the machine allows), else each process (RLIMIT_DATA). */
    memoryMiB: z.number().int().min(64).default(8192),
    /** Processes and threads at once: what ends a fork bomb. */
    processes: z.number().int().min(16).default(4096),
    /** CPU time of each of its processes (RLIMIT_CPU). */
    cpuSeconds: z.number().int().positive().default(3600),
  })
  .strict();
export type Limits = z.infer<typeof LimitsSchema>;

/** What a command's cgroup counted when it ended (src/exec/cgroup.ts). */
export type LimitEvents = { oomKills: number; forksRefused: number };

const MIB = 1024 * 1024;

/** A command's timeout: what its plan asks for when that is shorter than the config's, never longer. */
export const commandTimeoutMs = (planned: number | undefined, configured: number) =>
  Math.min(planned ?? configured, configured);
const SETTING = 'execution.limits';

/**
 * prlimit's arguments, for the command's own process and all it starts: CPU time per process
 * always; the process count where it counts only this command (inside bwrap's user namespace,
 * where the kernel counts a namespace's processes apart; root is exempt, so there the cgroup
 * does it); memory per process where no cgroup caps the whole command.
 */
export function prlimitArgs(limits: Limits, by: { processes: boolean; memory: boolean }): string[] {
  return [
    'prlimit',
    `--cpu=${limits.cpuSeconds}`,
    ...(by.processes ? [`--nproc=${limits.processes}`] : []),
    ...(by.memory ? [`--data=${limits.memoryMiB * MIB}`] : []),
    '--',
  ];
}

/** Signals the kernel sends a process over its CPU time (SIGXCPU, then SIGKILL at the hard limit). */
const CPU_SIGNALS = new Set(['SIGXCPU']);
const OUT_OF_MEMORY = /\b(?:MemoryError|Cannot allocate memory|out of memory|std::bad_alloc|ENOMEM)\b/i;
const NO_MORE_PROCESSES =
  /\b(?:fork: (?:retry: )?Resource temporarily unavailable|BlockingIOError: \[Errno 11\]|Cannot fork|EAGAIN.*spawn)\b/i;

/**
 * When a failed command was stopped by one of its limits: which, its value and the setting to
 * raise. A limit is not something recovery can fix by running other commands.
 */
export function limitReached(
  limits: Limits,
  result: { signal: string | null; exitCode: number | null; stderrTail: string; stdoutTail: string },
  counted?: LimitEvents,
): string | undefined {
  const output = `${result.stderrTail}\n${result.stdoutTail}`;
  const raise = 'raise it in implement-agent.config.json if the task really needs more';
  // With a cgroup its counters say; without, the words a program dies with under an rlimit.
  if (counted ? counted.oomKills > 0 : OUT_OF_MEMORY.test(output))
    return `the command was stopped by its memory limit (${SETTING}.memoryMiB = ${limits.memoryMiB}, ${counted ? 'all its processes together' : 'each process'}); ${raise}`;
  if (counted ? counted.forksRefused > 0 : NO_MORE_PROCESSES.test(output))
    return `the command reached its process limit (${SETTING}.processes = ${limits.processes}): a fork bomb, or a build that starts that many processes at once; ${raise}`;
  if (result.signal !== null && CPU_SIGNALS.has(result.signal))
    return `the command used up its CPU time (${SETTING}.cpuSeconds = ${limits.cpuSeconds} per process); ${raise}`;
  return undefined;
}
