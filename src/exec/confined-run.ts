import { existsSync, rmSync } from 'node:fs';
import { openCommandGroup } from './cgroup.ts';
import { limitReached, type Limits } from './limits.ts';
import { runShellCommand, type CommandResult, type ShellCommandOptions } from './run-command.ts';
import { commandPrefix, refusedWrite, type Bound, type Confinement } from './sandbox.ts';
import { configFiles } from './sandbox-mounts.ts';

export type ConfinedResult = CommandResult & {
  /** What stopped the command that it cannot fix by itself: a refused write, a limit, a planted config. */
  refused?: string;
};

/**
 * Runs one command as every command runs: in a cgroup of its own where the machine allows (its
 * memory and process limits; every process of it ended with it), under the confinement and its
 * rlimits, with the timeout the config allows at most.
 */
export async function runConfined(
  command: string,
  confinement: Confinement,
  limits: Limits,
  options: Omit<ShellCommandOptions, 'prefix' | 'group'>,
  /** A task's view: what enters it (or the copy bound at the folder's path), and where this process sees its working directory. */
  view?: { enter: readonly string[]; root: string; bound?: Bound },
): Promise<ConfinedResult> {
  const workdir = options.cwd;
  const seen = (p: string) => (view ? view.root + p.slice(workdir.length) : p);
  const absent =
    confinement.kind === 'bwrap'
      ? configFiles(workdir)
          .map(seen)
          .filter((p) => !existsSync(p))
      : [];
  const once = () => {
    const group = openCommandGroup(limits);
    return runShellCommand(command, {
      ...options,
      prefix: commandPrefix(confinement, workdir, limits, group, view?.enter, view?.bound),
      ...(group ? { group } : {}),
    });
  };
  let result = await once();
  // A host socket hidden from the command vanished between the scan and bwrap's mount: bwrap
  // stopped before the command ran, so it runs again, with the sockets scanned again.
  if (confinement.kind === 'bwrap' && vanishedMount(result)) result = await once();
  const planted = absent.filter((p) => existsSync(p));
  if (planted.length > 0) return { ...result, refused: removePlanted(planted) };
  if (result.exitCode === 0 && !result.timedOut) return result;
  const refused =
    limitReached(limits, result, result.counted) ??
    (confinement.kind === 'bwrap' ? refusedWrite(result.stderrTail, result.stdoutTail) : undefined);
  return refused ? { ...result, refused } : result;
}

/** bwrap could not set up a mount because its place is gone (`Can't mkdir parents for P`, `Can't create file at P`). */
export function vanishedMount(result: Pick<CommandResult, 'exitCode' | 'stderrTail'>): boolean {
  if (result.exitCode === 0) return false;
  const m = /^bwrap: Can't (?:mkdir parents for|create file at) (\S+?):/m.exec(result.stderrTail);
  return m !== null && !existsSync(m[1]!);
}

/**
 * A config file of the tool that a confined command created (one that exists is read-only to
 * it): removed, so that the next run does not trust what a task wrote.
 */
function removePlanted(paths: string[]): string {
  for (const p of paths) rmSync(p, { force: true });
  return `the command created ${paths.join(', ')}, the tool's own configuration, which a task may not write (the next run would trust it): removed`;
}
