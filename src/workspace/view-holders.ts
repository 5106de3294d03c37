import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The processes that hold task views, spawned ahead of need: each already owns its user and mount
 * namespace (`unshare -Urm`) and waits on its stdin for the paths to mount, so a task's set-up is
 * one write and the mounts, not a spawn of unshare and a shell. Its stdin is a pipe from this
 * process: when this process dies, the holder ends too, spare or in use.
 */
export type Holder = {
  /** Mounts the overlay (and the binds, the tmpfs) in the holder's namespace; resolves with its pid once done. */
  mount(paths: ViewPaths): Promise<number>;
  /** Ends the holder: its namespace, and the overlay with it, goes. */
  end(): Promise<void>;
};

/** The working directory (the lower layer, and the mount point), the upper and work folders, the folder a tmpfs hides ('' for none), two paths bound through from the real folder ('' for none). */
export type ViewPaths = [
  workdir: string,
  upper: string,
  work: string,
  hide: string,
  through1: string,
  through2: string,
];

/** Spare holders kept per prefix: enough for the default three tasks at once to start with no spawn. */
const SPARES = 3;
const spares = new Map<string, ChildProcess[]>();

// The paths come one a line; the descriptors of the paths shared through are opened before the
// overlay covers them, then bound over their place in the view, so writes there land.
const SCRIPT =
  'IFS= read -r a && IFS= read -r b && IFS= read -r c && IFS= read -r d && IFS= read -r e && IFS= read -r f || exit 0; ' +
  'set -- "$a" "$b" "$c" "$d" "$e" "$f"; ' +
  '{ [ -z "$5" ] || exec 5<"$5"; } && { [ -z "$6" ] || exec 6<"$6"; } && ' +
  'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3,userxattr" "$1" && ' +
  '{ [ -z "$5" ] || mount --no-canonicalize --bind /proc/self/fd/5 "$5"; } && { [ -z "$6" ] || mount --no-canonicalize --bind /proc/self/fd/6 "$6"; } && ' +
  '{ [ -z "$4" ] || mount -t tmpfs -o size=4k,mode=0700 none "$4"; } && exec 5<&- 6<&- && echo ready && exec cat >/dev/null';

/** A holder for one view: a spare one when there is one (spares are made again after the mount, off the task's path). */
export function takeHolder(prefix: readonly string[]): Holder {
  const key = JSON.stringify(prefix);
  const kept = spares.get(key) ?? [];
  spares.set(key, kept);
  let proc = kept.shift();
  while (proc && !alive(proc)) proc = kept.shift();
  const holder = proc ?? spawnHolder(prefix);
  return {
    mount: async (paths) => {
      const pid = await mounted(holder, paths);
      setImmediate(() => {
        while (kept.length < SPARES) kept.push(spawnHolder(prefix));
      });
      return pid;
    },
    end: () => end(holder),
  };
}

/** Ends the spare holders (those in use end with their views). */
export async function endSpareHolders(): Promise<void> {
  const all = [...spares.values()].flat();
  spares.clear();
  await Promise.all(all.map(end));
}

const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null && p.pid !== undefined;

function spawnHolder(prefix: readonly string[]): ChildProcess {
  const [command, ...args] = [...prefix, 'unshare', '-Urm', '--propagation', 'private', 'sh', '-c', SCRIPT, 'sh'];
  // A process group of its own: a terminal's Ctrl-C stops the run, not the views its commands enter.
  const p = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  p.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  p.once('exit', (code) =>
    p.emit('holder-gone', `the view's holder exited ${code}: ${stderr.trim().split('\n').pop() ?? ''}`),
  );
  p.once('error', (error) => p.emit('holder-gone', `the view's holder could not start: ${error.message}`));
  // A write to a holder that died (no user namespace here) is answered by its exit, not by EPIPE.
  p.stdin?.on('error', () => undefined);
  release(p);
  return p;
}

/** Not what keeps this process alive: a spare, or a holder in use, ends with the end of its stdin. */
function release(p: ChildProcess) {
  p.unref();
  for (const s of [p.stdin, p.stdout, p.stderr]) (s as { unref?: () => void } | null)?.unref?.();
}

function mounted(p: ChildProcess, paths: ViewPaths): Promise<number> {
  // Waited for now: what this process awaits keeps it alive.
  p.ref();
  for (const s of [p.stdout, p.stderr]) (s as { ref?: () => void } | null)?.ref?.();
  let stdout = '';
  return new Promise<number>((resolve, reject) => {
    const gone = (why: string) => reject(new Error(why));
    if (!alive(p)) return gone(`the view's holder exited ${p.exitCode ?? p.signalCode ?? 'at once'}`);
    p.once('holder-gone', gone);
    p.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (!stdout.includes('ready')) return;
      p.off('holder-gone', gone);
      resolve(p.pid!);
    });
    p.stdin?.write(`${paths.join('\n')}\n`);
  }).finally(() => release(p));
}

function end(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return Promise.resolve();
  p.ref();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.stdin?.end();
  });
}
