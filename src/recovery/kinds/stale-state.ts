import { readdirSync, readFileSync } from 'node:fs';
import { argumentsOf, findInvocation, outputOf, q, type KindStrategy } from './kind.ts';

/** Whether a git process runs on this machine now: then a lock may be its, and stays. */
function gitRunning(): boolean {
  try {
    return readdirSync('/proc').some((pid) => {
      if (!/^\d+$/.test(pid)) return false;
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'git';
      } catch {
        return false;
      }
    });
  } catch {
    return true;
  }
}

/**
 * A lock or cache left by an earlier run: a git lock file when no git process runs (git's own
 * advice), a CMake cache made for another source folder (moved aside, not deleted: CMake makes a
 * new one, and the old one is still there to look at).
 */
export const staleState: KindStrategy = (request, probe) => {
  const out = outputOf(request);
  const lock = /Unable to create '([^']+\.lock)': File exists/.exec(out)?.[1];
  if (lock && findInvocation(request.command, 'git') && lock.includes('/.git/') && !gitRunning()) {
    return {
      kind: 'stale-state',
      variant: 'git-lock',
      diagnosis: `${lock} was left by a git process that is no longer running`,
      commands: [`rm -f ${q(lock)}`],
      retry: true,
    };
  }
  if (
    /does not match the source .* used to generate cache|CMakeCache\.txt directory .* is different than the directory/.test(
      out,
    ) &&
    findInvocation(request.command, 'cmake')
  ) {
    const args = argumentsOf(request.command, 'cmake');
    const at = args.findIndex((a) => a === '-B' || a.startsWith('-B'));
    const dir = at < 0 ? undefined : args[at] === '-B' ? args[at + 1] : args[at]!.slice(2);
    if (dir && probe.isFile(`${dir}/CMakeCache.txt`)) {
      return {
        kind: 'stale-state',
        variant: 'cmake-cache',
        diagnosis: `${dir}/CMakeCache.txt was made for another source folder`,
        commands: [`mv ${q(`${dir}/CMakeCache.txt`)} ${q(`${dir}/CMakeCache.txt.other-source`)}`],
        retry: true,
      };
    }
  }
  return undefined;
};
