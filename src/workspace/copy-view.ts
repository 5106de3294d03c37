import { constants, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, copyFile, readlink, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { ALWAYS_IGNORED } from '../context/project-files.ts';
import { copyChanges, type Manifest } from './copy-changes.ts';
import { NEVER_SCANNED, safely } from './tree-scan.ts';
import { stampAfterTick, VIEW_STAMP, type View } from './view.ts';

/** The largest tree a task's copy is made of (`execution.copyLimits`). */
export type CopyLimits = { maxFiles: number; maxBytes: number };

/**
 * Folders a package manager fills (node_modules, .venv, __pycache__): bound read-write from the
 * real folder into the copy, not copied, so that a tree with its dependencies installed is still
 * a small one. Their writes land at once (docs/isolation.md#fallbacks says what that loses).
 */
const DEPENDENCY_DIRS = new Set(
  ALWAYS_IGNORED.map((p) => p.replace(/\/$/, '')).filter((name) => !NEVER_SCANNED.has(name)),
);

const COPY = 'copy';
const MANIFEST = 'manifest.json';
/** Copies in flight at once: the thread pool's size, so a copy does not starve other file I/O for long. */
const BATCH = 4;

const ManifestFile = z.object({
  through: z.array(z.string()),
  entries: z.array(z.tuple([z.string(), z.enum(['dir', 'file', 'link']), z.number(), z.string(), z.number()])),
});

type Planned = { path: string; kind: 'dir' | 'file' | 'link' | 'placeholder-dir' | 'placeholder-file' };

/** Whether `dir` holds a copy a task left (its executor died): a resumed task goes on in it. */
export const keptCopy = (dir: string): boolean => existsSync(join(dir, MANIFEST)) && existsSync(join(dir, COPY));

/**
 * A task's private copy of the working directory, for where no overlay can be had: bubblewrap
 * binds it at the folder's own path (`bound`), so commands see and write it there with no user
 * namespace of ours. The copy is a real one (reflinked where the filesystem can, never hard
 * links: a write through a link would change the original). `through` (absolute: the repository,
 * the tool's state) and the dependency folders stay the real ones. Its change set is what differs
 * from the manifest taken when it was made. Rejects, naming the limit, when the tree is too big;
 * a copy a dead executor left in `dir` is taken up again.
 */
export async function openCopyView(
  workdir: string,
  dir: string,
  options: { through: readonly string[]; limits: CopyLimits; resume: boolean },
): Promise<View> {
  const copy = join(dir, COPY);
  let made: { through: string[]; manifest: Manifest };
  if (options.resume && keptCopy(dir)) made = readManifest(dir);
  else {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(copy, { recursive: true });
    // The view begins before the copy is made: a change to the folder while it is made is one since.
    stampAfterTick(join(dir, VIEW_STAMP));
    try {
      made = await makeCopy(workdir, dir, options);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    writeManifest(dir, made);
  }
  const startedNs = lstatSync(join(dir, VIEW_STAMP), { bigint: true }).ctimeNs;
  const through = made.through.map((p) => join(workdir, p));
  return {
    workdir,
    root: copy,
    upper: copy,
    dir,
    startedNs,
    enter: [],
    bound: { source: copy, through },
    read: (excluded, maxFileBytes) =>
      copyChanges({ copy, workdir, manifest: made.manifest, through: new Set(made.through) }, excluded, maxFileBytes),
    close: () => Promise.resolve(),
  };
}

/** The tree copied into `copy`, and the manifest of what the copy holds (taken a clock tick before any command can write). */
async function makeCopy(
  workdir: string,
  dir: string,
  options: { through: readonly string[]; limits: CopyLimits },
): Promise<{ through: string[]; manifest: Manifest }> {
  const copy = join(dir, COPY);
  const shared = new Set(options.through.map((p) => relative(workdir, p)).filter((p) => !p.startsWith('..')));
  const planned = planCopy(workdir, shared, options.limits);
  // Folders first (in order: each before its entries), writable until their entries are in.
  for (const { path, kind } of planned) {
    if (kind === 'dir' || kind === 'placeholder-dir') mkdirSync(join(copy, path));
    else if (kind === 'placeholder-file') writeFileSync(join(copy, path), '');
  }
  const leaves = planned.filter((p) => p.kind === 'file' || p.kind === 'link');
  for (let i = 0; i < leaves.length; i += BATCH)
    await Promise.all(leaves.slice(i, i + BATCH).map((p) => copyLeaf(workdir, copy, p)));
  for (const { path, kind } of planned)
    if (kind === 'dir') await chmod(join(copy, path), lstatSync(join(workdir, path)).mode & 0o7777);
  const manifest: Manifest = new Map();
  for (const { path, kind } of planned) {
    if (kind !== 'dir' && kind !== 'file' && kind !== 'link') continue;
    const st = lstatSync(join(copy, path), { bigint: true });
    manifest.set(path, { kind, ino: Number(st.ino), ctimeNs: st.ctimeNs, size: Number(st.size) });
  }
  // Every write of a command then has a ctime past the manifest's (the clock's tick is coarse).
  stampAfterTick(join(dir, 'copied'));
  return { through: planned.filter((p) => p.kind.startsWith('placeholder')).map((p) => p.path), manifest };
}

/** What the copy holds, folders before their entries; throws, naming the limit, past `limits`. */
function planCopy(workdir: string, shared: ReadonlySet<string>, limits: CopyLimits): Planned[] {
  const out: Planned[] = [];
  let files = 0;
  let bytes = 0;
  const walk = (rel: string) => {
    for (const name of (safely(() => readdirSync(join(workdir, rel))) ?? []).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(workdir, path), { throwIfNoEntry: false });
      if (!st) continue;
      if (shared.has(path) || (st.isDirectory() && DEPENDENCY_DIRS.has(name))) {
        out.push({ path, kind: st.isDirectory() ? 'placeholder-dir' : 'placeholder-file' });
        continue;
      }
      if (rel === '' && NEVER_SCANNED.has(name)) continue;
      if (st.isDirectory()) {
        out.push({ path, kind: 'dir' });
        walk(path);
        continue;
      }
      // Sockets and pipes are not copied: nothing could be merged back of them.
      if (!st.isFile() && !st.isSymbolicLink()) continue;
      out.push({ path, kind: st.isFile() ? 'file' : 'link' });
      files++;
      bytes += st.size;
      if (files > limits.maxFiles)
        throw new Error(`${workdir} holds more than ${limits.maxFiles} files (execution.copyLimits.maxFiles)`);
      if (bytes > limits.maxBytes)
        throw new Error(`${workdir} holds more than ${limits.maxBytes} bytes (execution.copyLimits.maxBytes)`);
    }
  };
  walk('');
  return out;
}

async function copyLeaf(workdir: string, copy: string, { path, kind }: Planned): Promise<void> {
  const from = join(workdir, path);
  const to = join(copy, path);
  if (kind === 'link') await symlink(await readlink(from), to);
  // A clone where the filesystem has them (btrfs, xfs), else a copy of the bytes; the mode goes with it.
  else await copyFile(from, to, constants.COPYFILE_FICLONE);
}

function writeManifest(dir: string, made: { through: string[]; manifest: Manifest }): void {
  const entries = [...made.manifest].map(([p, e]) => [p, e.kind, e.ino, String(e.ctimeNs), e.size] as const);
  writeFileSync(join(dir, MANIFEST), JSON.stringify({ through: made.through, entries }));
}

function readManifest(dir: string): { through: string[]; manifest: Manifest } {
  const file = ManifestFile.parse(JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')));
  const manifest: Manifest = new Map(
    file.entries.map(([p, kind, ino, ctimeNs, size]) => [p, { kind, ino, ctimeNs: BigInt(ctimeNs), size }]),
  );
  return { through: file.through, manifest };
}
