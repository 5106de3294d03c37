import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The processes that hold task views. Each owns a user and mount namespace (`unshare -Urm`) in
 * which it mounts the view's overlay, then waits on its stdin, a pipe from this process: when this
 * process dies, the holder ends too. Spares are mounted ahead of need on a fresh upper layer of
 * their own, so a task's set-up is a rename of that layer's folder: no spawn, no `mount`.
 */
export type Holder = {
  pid: number;
  /** Ends the holder: its namespace, and the overlay with it, goes. */
  end(): Promise<void>;
};

/** What a view mounts besides its layers: the folder a tmpfs hides ('' for none), two paths bound through from the real folder ('' for none). */
export type ViewMounts = { prefix: readonly string[]; workdir: string; hide: string; through: [string, string] };

/** Spares kept per kind of view, at most: enough for the default three tasks at once to start with none spawned. */
const SPARES = 3;
/** Kinds of view (folder, mounts) kept spares for; the least recently used one's spares end first. */
const KINDS = 4;

type Spare = { proc: ChildProcess; dir: string; ready: Promise<void> };
const pools = new Map<string, Spare[]>();
const kinds = new Map<string, { mounts: ViewMounts; spareRoot: string }>();
const ownSpareDirs = new Set<string>();
const sweptRoots = new Set<string>();
let spareSeq = 0;

// The paths come as arguments: the working directory (the lower layer, and the mount point), the
// upper and work folders, the folder hidden, the paths shared through. Their descriptors are
// opened before the overlay covers them, then bound over their place in the view, so writes land.
const SCRIPT =
  '{ [ -z "$5" ] || exec 5<"$5"; } && { [ -z "$6" ] || exec 6<"$6"; } && ' +
  'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3,userxattr" "$1" && ' +
  '{ [ -z "$5" ] || mount --no-canonicalize --bind /proc/self/fd/5 "$5"; } && { [ -z "$6" ] || mount --no-canonicalize --bind /proc/self/fd/6 "$6"; } && ' +
  '{ [ -z "$4" ] || mount -t tmpfs -o size=4k,mode=0700 none "$4"; } && exec 5<&- 6<&- && echo ready && exec cat >/dev/null';

const SPARE = /^\.spare-(\d+)-\d+$/;

/**
 * A holder whose overlay has a fresh upper layer, moved to `dir` (`up`, `wk`): a spare mounted
 * ahead when one of this kind is ready (spares are made again after, off the task's path).
 * `spareRoot` holds the spares' folders: on the same filesystem as `dir`, hidden from views.
 */
export async function freshHolder(mounts: ViewMounts, dir: string, spareRoot: string): Promise<Holder> {
  const kind = kindOf(mounts);
  const pool = pools.get(kind) ?? [];
  pools.delete(kind);
  pools.set(kind, pool);
  const spare = pool.shift() ?? spawnSpare(mounts, spareRoot);
  try {
    await waitReady(spare);
  } catch (error) {
    // What failed one fails its kind: no spares are kept for it.
    pools.delete(kind);
    await Promise.all([spare, ...pool].map(endSpare));
    throw error;
  }
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(spare.dir, dir);
  ownSpareDirs.delete(spare.dir);
  // A spawn blocks this process's loop for a few ms: made when a view is removed (after its task's
  // outcome, `spareAhead`), not while a task starts, unless no spare is left for the next one.
  if (pool.length === 0) setImmediate(() => refill(kind));
  kinds.set(kind, { mounts, spareRoot });
  return { pid: spare.proc.pid!, end: () => end(spare.proc) };
}

/**
 * Spares of a kind of view mounted ahead of its first task (a site's copy of a run, unpacked when
 * the run starts): the first round of tasks starts with no spawn, as the later ones do.
 */
export function sparesAhead(mounts: ViewMounts, spareRoot: string): void {
  const kind = kindOf(mounts);
  if (!pools.has(kind)) pools.set(kind, []);
  kinds.set(kind, { mounts, spareRoot });
  for (let i = pools.get(kind)!.length; i < SPARES; i++) refill(kind);
}

/** A holder of the view whose layers are already in `upper` (a task resumed in the view it left). */
export async function heldAgain(mounts: ViewMounts, upper: string, work: string): Promise<Holder> {
  const proc = spawnHolder(mounts, upper, work);
  await waitReady({ proc, dir: '', ready: readyOf(proc) });
  return { pid: proc.pid!, end: () => end(proc) };
}

/** Ends the spare holders and removes their folders (those in use end with their views). */
export async function endSpareHolders(): Promise<void> {
  const all = [...pools.values()].flat();
  pools.clear();
  await Promise.all(all.map(endSpare));
}

/** A kind of view: the same mounts of the same folders (a `.git` made again is another kind). */
function kindOf(m: ViewMounts): string {
  const id = (p: string) => {
    const st = p ? statSync(p, { throwIfNoEntry: false }) : undefined;
    return st ? `${st.dev}:${st.ino}` : '';
  };
  return JSON.stringify([m.prefix, m.workdir, m.hide, m.through, id(m.workdir), ...m.through.map(id)]);
}

/** One more spare of the kind of view last taken, up to `SPARES`: called as a view is removed. */
export function spareAhead(): void {
  const last = [...pools.keys()].pop();
  if (last !== undefined) refill(last);
}

function refill(kind: string): void {
  const pool = pools.get(kind);
  const how = kinds.get(kind);
  if (!pool || !how || pool.length >= SPARES) return;
  pool.push(spawnSpare(how.mounts, how.spareRoot));
  for (const [old, spares] of pools) {
    if (pools.size <= KINDS) break;
    pools.delete(old);
    kinds.delete(old);
    void Promise.all(spares.map(endSpare));
  }
}

function spawnSpare(mounts: ViewMounts, spareRoot: string): Spare {
  sweep(spareRoot);
  const dir = join(spareRoot, `.spare-${process.pid}-${spareSeq++}`);
  mkdirSync(join(dir, 'up'), { recursive: true });
  mkdirSync(join(dir, 'wk'));
  ownSpareDirs.add(dir);
  const proc = spawnHolder(mounts, join(dir, 'up'), join(dir, 'wk'));
  const ready = readyOf(proc);
  // A spare that fails is seen by the task that takes it, not as an unhandled rejection.
  ready.catch(() => undefined);
  return { proc, dir, ready };
}

/** The spares' folders of processes that are gone, removed once per folder. */
function sweep(spareRoot: string): void {
  if (sweptRoots.has(spareRoot)) return;
  sweptRoots.add(spareRoot);
  mkdirSync(spareRoot, { recursive: true });
  for (const name of readdirSync(spareRoot).filter((n) => SPARE.test(n))) {
    const pid = Number(SPARE.exec(name)![1]);
    if (pid !== process.pid && !running(pid)) rmSync(join(spareRoot, name), { recursive: true, force: true });
  }
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

// This process's spares' folders go with it (their holders end with its pipes).
process.once('exit', () => {
  for (const dir of ownSpareDirs) rmSync(dir, { recursive: true, force: true });
});

const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null && p.pid !== undefined;

function spawnHolder(m: ViewMounts, upper: string, work: string): ChildProcess {
  const paths = [m.workdir, upper, work, m.hide, ...m.through];
  const [command, ...args] = [...m.prefix, 'unshare', '-Urm', '--propagation', 'private', 'sh', '-c', SCRIPT, 'sh'];
  // A process group of its own: a terminal's Ctrl-C stops the run, not the views its commands enter.
  const p = spawn(command, [...args, ...paths], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  p.stdin?.on('error', () => undefined);
  release(p);
  return p;
}

/** Resolves once the holder says its mounts are done; rejects with its last words when it exits first. */
function readyOf(p: ChildProcess): Promise<void> {
  let stdout = '';
  let stderr = '';
  p.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise<void>((resolve, reject) => {
    p.once('exit', (code) => reject(new Error(`the view's holder exited ${code}: ${stderr.trim().split('\n').pop()}`)));
    p.once('error', (error) => reject(new Error(`the view's holder could not start: ${error.message}`)));
    p.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('ready')) resolve();
    });
  });
}

/** Waits for a holder to be ready: what this process awaits keeps it alive meanwhile. */
async function waitReady(s: Spare): Promise<void> {
  s.proc.ref();
  for (const c of [s.proc.stdout, s.proc.stderr]) (c as { ref?: () => void } | null)?.ref?.();
  try {
    await s.ready;
  } finally {
    release(s.proc);
  }
}

/** Not what keeps this process alive: a spare, or a holder in use, ends with the end of its stdin. */
function release(p: ChildProcess) {
  p.unref();
  for (const s of [p.stdin, p.stdout, p.stderr]) (s as { unref?: () => void } | null)?.unref?.();
}

async function endSpare(s: Spare): Promise<void> {
  await end(s.proc);
  ownSpareDirs.delete(s.dir);
  rmSync(s.dir, { recursive: true, force: true });
}

function end(p: ChildProcess): Promise<void> {
  if (!alive(p)) return Promise.resolve();
  p.ref();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.stdin?.end();
  });
}
