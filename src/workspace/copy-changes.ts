import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { dirname, join } from 'node:path';
import { isOwnPath } from '../context/own-files.ts';
import { NEVER_SCANNED, safely } from './tree-scan.ts';
import {
  content,
  lstat,
  note,
  record,
  remove,
  REPOSITORY,
  walked,
  walkOf,
  written,
  type ViewChanges,
  type Walk,
} from './view-changes.ts';

/** What a task's copy held when it was made, by path: a file whose inode and ctime are the same is unchanged. */
export type Manifest = Map<string, { kind: 'dir' | 'file' | 'link'; ino: number; ctimeNs: bigint; size: number }>;

type Copy = {
  copy: string;
  workdir: string;
  manifest: Manifest;
  /** Paths bound from the real folder (placeholders in the copy): never the task's change here. */
  through: ReadonlySet<string>;
};

type CopyWalk = Walk & { made: Manifest; children: Map<string, string[]>; through: ReadonlySet<string> };

/**
 * A copy's change set (src/workspace/copy-view.ts): what differs between the copy and its
 * manifest (files and links written, made, deleted, their modes), each beside what the working
 * directory holds there now, with the steps that merge it; as a view's upper layer gives it
 * (view-changes.ts), so the merge and its conflict rules are the same. A walk of the whole copy:
 * O(files in it), which its limits keep small.
 */
export function copyChanges(view: Copy, excluded: readonly string[], maxFileBytes: number): ViewChanges {
  const children = new Map<string, string[]>();
  for (const path of view.manifest.keys()) {
    const parent = dirname(path) === '.' ? '' : dirname(path);
    children.set(parent, [...(children.get(parent) ?? []), path.slice(parent ? parent.length + 1 : 0)]);
  }
  const w: CopyWalk = {
    ...walkOf({ upper: view.copy, lower: view.workdir, merged: view.copy }, excluded, maxFileBytes),
    made: view.manifest,
    children,
    through: view.through,
  };
  visit(w, '');
  return walked(w);
}

function visit(w: CopyWalk, rel: string): void {
  const names = safely(() => readdirSync(join(w.upper, rel))) ?? [];
  const present = new Set(names);
  for (const name of w.children.get(rel) ?? []) {
    const path = rel ? `${rel}/${name}` : name;
    if (present.has(name) || skipped(w, rel, name, path)) continue;
    const low = lstat(join(w.lower, path));
    if (low) remove(w, path, low);
  }
  for (const name of names.sort()) {
    const path = rel ? `${rel}/${name}` : name;
    // A repository the task made (`git init`) lands whole, never recorded; one that existed is shared with the copy.
    if (rel === '' && name === REPOSITORY && !lstat(join(w.lower, name)))
      w.out.steps.push({ op: 'put', path, from: join(w.upper, path), dir: true });
    if (skipped(w, rel, name, path)) continue;
    const up = lstatSync(join(w.upper, path), { bigint: true, throwIfNoEntry: false });
    if (up) entry(w, path, up);
  }
}

const skipped = (w: CopyWalk, rel: string, name: string, path: string) =>
  w.through.has(path) || (rel === '' && NEVER_SCANNED.has(name)) || isOwnPath(path, w.excluded);

/** One entry of the copy against the manifest and the working directory. */
function entry(w: CopyWalk, path: string, up: BigIntStats): void {
  const was = w.made.get(path);
  if (up.isDirectory()) {
    if (was?.kind === 'dir') return visit(w, path);
    const low = lstat(join(w.lower, path));
    if (low) remove(w, path, low);
    // A new folder moves in one step, whatever it holds (an `npm install`'s node_modules).
    w.out.steps.push({ op: 'put', path, from: join(w.upper, path), dir: true });
    return record(w, path, true, (p) => written(w, p));
  }
  if (!up.isFile() && !up.isSymbolicLink()) return;
  if (
    was &&
    was.kind !== 'dir' &&
    was.ino === Number(up.ino) &&
    was.ctimeNs === up.ctimeNs &&
    was.size === Number(up.size)
  )
    return;
  const low = lstat(join(w.lower, path));
  if (low?.isDirectory()) remove(w, path, low);
  const before = low && !low.isDirectory() ? content(join(w.lower, path), low, w.maxFileBytes) : undefined;
  const after = content(join(w.upper, path), lstatSync(join(w.upper, path)), w.maxFileBytes);
  // Written back as the folder holds it (a touch, an editor's save): no change.
  if (before && before.hash === after.hash && before.mode === after.mode && before.kind === after.kind) return;
  w.out.steps.push({ op: 'put', path, from: join(w.upper, path), dir: false });
  note(w, path, false, { path, ...(before ? { before } : {}), after });
}
