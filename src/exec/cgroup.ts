import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LimitEvents, Limits } from './limits.ts';

const ROOT = '/sys/fs/cgroup';
const MIB = 1024 * 1024;

/**
 * Where this process may make a cgroup per command with the memory and pids controllers: cgroup
 * v2 beside its own (root, or a user whose systemd delegates that subtree), or the v1 hierarchies
 * (root). None on a desktop session run as a normal user: there, prlimit alone applies.
 */
type Layout = { v: 1; memory: string; pids: string } | { v: 2; base: string };

/** Each controller's path of this process, from /proc/self/cgroup (`0::/path` is v2's). */
function ownPaths(): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined || controllers === undefined) continue;
    for (const c of controllers.split(',')) paths.set(c, path);
  }
  return paths;
}

function findLayout(): Layout | undefined {
  const own = ownPaths();
  if (existsSync(join(ROOT, 'cgroup.controllers'))) {
    const path = own.get('') ?? '/';
    const enabled = readFileSync(join(ROOT, path, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (!enabled.includes('memory') || !enabled.includes('pids')) return undefined;
    // A cgroup with processes may not pass controllers down: the command's is a sibling of ours.
    return { v: 2, base: path === '/' ? ROOT : dirname(join(ROOT, path)) };
  }
  const v1 = (c: string) => (existsSync(join(ROOT, c, 'cgroup.procs')) ? join(ROOT, c, own.get(c) ?? '/') : undefined);
  const [memory, pids] = [v1('memory'), v1('pids')];
  return memory && pids ? { v: 1, memory, pids } : undefined;
}

let layout: Layout | null | undefined;
let made = 0;

/** The layout, probed once by making (and removing) a cgroup; undefined where none can be made. */
function probe(): Layout | undefined {
  if (layout !== undefined) return layout ?? undefined;
  try {
    const found = findLayout();
    const dirs = found ? (found.v === 1 ? [found.memory, found.pids] : [found.base]) : [];
    for (const d of dirs) {
      const test = join(d, `implement-agent-probe-${process.pid}`);
      mkdirSync(test);
      rmdirSync(test);
    }
    layout = found ?? null;
  } catch {
    layout = null;
  }
  return layout ?? undefined;
}

/** One command's cgroup: the wrapper writes its pid into `procs` before it runs anything. */
export type CommandGroup = {
  /** The argv that puts the command in the group, then runs the rest. */
  wrapper: string[];
  /** Kills every process left in the group, reads what its limits counted, removes it. */
  end(): Promise<LimitEvents>;
};

/** A cgroup for one command with its memory and process limits, or undefined where cgroups are not ours. */
export function openCommandGroup(limits: Limits): CommandGroup | undefined {
  const found = probe();
  if (!found) return undefined;
  const name = `implement-agent-${process.pid}-${++made}`;
  const memory = limits.memoryMiB * MIB;
  const dirs = found.v === 1 ? [join(found.memory, name), join(found.pids, name)] : [join(found.base, name)];
  for (const d of dirs) mkdirSync(d);
  const set = (file: string, value: string | number, optional = false) => {
    if (!optional || existsSync(file)) writeFileSync(file, String(value));
  };
  const [memDir, pidsDir] = [dirs[0]!, dirs[dirs.length - 1]!];
  if (found.v === 1) {
    set(join(memDir, 'memory.limit_in_bytes'), memory);
    // Memory and swap together (where swap is accounted): a limit the command cannot swap past.
    set(join(memDir, 'memory.memsw.limit_in_bytes'), memory, true);
  } else {
    set(join(memDir, 'memory.max'), memory);
    set(join(memDir, 'memory.swap.max'), 0, true);
  }
  set(join(pidsDir, 'pids.max'), limits.processes);
  const procs = dirs.map((d) => join(d, 'cgroup.procs'));
  return {
    wrapper: [
      'sh',
      '-c',
      'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"',
      'sh',
      String(procs.length),
      ...procs,
    ],
    end: async () => {
      await killAll(procs[procs.length - 1]!);
      const events = {
        oomKills: counter(join(memDir, found.v === 1 ? 'memory.oom_control' : 'memory.events'), 'oom_kill'),
        forksRefused: counter(join(pidsDir, 'pids.events'), 'max'),
      };
      for (const d of dirs) removeWhenEmpty(d);
      return events;
    },
  };
}

/** SIGKILL to every process in the group until none is left (a fork bomb at its limit cannot outrun it). */
async function killAll(procs: string): Promise<void> {
  for (let round = 0; round < 500; round++) {
    const pids = readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function counter(file: string, key: string): number {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${key} `));
    return line ? Number(line.split(' ')[1]) : 0;
  } catch {
    return 0;
  }
}

function removeWhenEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // a process the kernel has not reaped yet: the group is left, empty soon, named by our pid
  }
}
