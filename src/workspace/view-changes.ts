import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import ignore from 'ignore';
import { ALWAYS_IGNORED, isIgnored } from '../context/project-files.ts';
import { isOwnPath } from '../context/own-files.ts';
import { NEVER_SCANNED, safely } from './tree-scan.ts';
import { contentHash, type Content, type IgnoredChange, type TreeChange } from './work-tree.ts';

/**
 * One step of merging a view into the working directory, in order: `delete` removes what the
 * path holds (a whole folder included), `put` moves the upper layer's file, link or new folder
 * (with all it holds) into place.
 */
export type MergeStep = { op: 'delete'; path: string } | { op: 'put'; path: string; from: string; dir: boolean };

/** What a view holds that the working directory does not: the record, and the steps of its merge. */
export type ViewChanges = { changes: TreeChange[]; ignored: IgnoredChange[]; steps: MergeStep[] };

export type Walk = {
  upper: string;
  /** The working directory: the view's lower layer. */
  lower: string;
  /** The view as its commands see it (the merged layers): an opaque folder's hidden entries are missing there. */
  merged: string;
  excluded: readonly string[];
  ignoredBy: (path: string, dir: boolean) => boolean;
  maxFileBytes: number;
  out: ViewChanges;
  ignoredCounts: Map<string, number>;
};

/** The repository's folder: never a task's change (NEVER_SCANNED), merged only when the task made it. */
export const REPOSITORY = '.git';

const ALWAYS_IGNORED_NAMES = new Set(ALWAYS_IGNORED.map((p) => p.replace(/\/$/, '')));

/**
 * A view's change set, read from its upper layer: every file and link the task wrote (its content
 * and mode, beside what the working directory holds there), every path it deleted (whiteouts and
 * folders made opaque), and what the project ignores counted, not read. Costs what the task wrote,
 * not the size of the project. The tool's own files (`excluded`, `.git`, `.implement-agent`) are
 * never a task's change and never merged.
 */
export function viewChanges(
  view: { upper: string; workdir: string; root: string },
  excluded: readonly string[],
  maxFileBytes: number,
): ViewChanges {
  const walk = walkOf({ upper: view.upper, lower: view.workdir, merged: view.root }, excluded, maxFileBytes);
  visit(walk, '');
  return walked(walk);
}

/** A walk of a view's layers, to gather its change set in (the working directory's top `.gitignore` in force). */
export function walkOf(
  layers: { upper: string; lower: string; merged: string },
  excluded: readonly string[],
  maxFileBytes: number,
): Walk {
  const rules = safely(() => readFileSync(join(layers.lower, '.gitignore'), 'utf8'));
  const ignores = rules ? [{ prefix: '', rules: ignore().add(rules) }] : [];
  return {
    ...layers,
    excluded,
    ignoredBy: (path, dir) =>
      path.split('/').some((part) => ALWAYS_IGNORED_NAMES.has(part)) || isIgnored(ignores, path, dir),
    maxFileBytes,
    out: { changes: [], ignored: [], steps: [] },
    ignoredCounts: new Map(),
  };
}

/** The change set a walk gathered, in path order, ignored paths counted. */
export function walked(w: Walk): ViewChanges {
  w.out.ignored = [...w.ignoredCounts].map(([path, entries]) => ({ path, entries }));
  w.out.changes.sort((a, b) => (a.path < b.path ? -1 : 1));
  return w.out;
}

function visit(w: Walk, rel: string): void {
  const names = safely(() => readdirSync(join(w.upper, rel))) ?? [];
  for (const name of names.sort()) {
    const path = rel ? `${rel}/${name}` : name;
    // A repository the task made (`git init`) lands whole, never recorded; one that existed is shared with the view.
    if (rel === '' && name === REPOSITORY && !lstat(join(w.lower, name)))
      w.out.steps.push({ op: 'put', path, from: join(w.upper, path), dir: true });
    if ((rel === '' && NEVER_SCANNED.has(name)) || isOwnPath(path, w.excluded)) continue;
    const up = lstat(join(w.upper, path));
    if (!up) continue;
    const low = lstat(join(w.lower, path));
    const whiteout = up.isCharacterDevice() && up.rdev === 0;
    if (whiteout) {
      if (low) remove(w, path, low);
      continue;
    }
    if (up.isDirectory()) {
      if (low?.isDirectory()) {
        hidden(w, path);
        visit(w, path);
        continue;
      }
      if (low) remove(w, path, low);
      // A new folder moves in one step, whatever it holds (an `npm install`'s node_modules).
      w.out.steps.push({ op: 'put', path, from: join(w.upper, path), dir: true });
      record(w, path, true, (p) => written(w, p));
      continue;
    }
    if (!up.isFile() && !up.isSymbolicLink()) continue;
    if (low?.isDirectory()) remove(w, path, low);
    const before = low && !low.isDirectory() ? content(join(w.lower, path), low, w.maxFileBytes) : undefined;
    const after = content(join(w.upper, path), up, w.maxFileBytes);
    // Copied up and written back unchanged (a touch, an editor's save): no change.
    if (before && before.hash === after.hash && before.mode === after.mode && before.kind === after.kind) continue;
    w.out.steps.push({ op: 'put', path, from: join(w.upper, path), dir: false });
    note(w, path, false, { path, ...(before ? { before } : {}), after });
  }
}

/** A folder the task emptied and made again (opaque): the entries of the working directory it no longer shows. */
function hidden(w: Walk, path: string): void {
  const shown = new Set(safely(() => readdirSync(join(w.merged, path))) ?? []);
  for (const name of safely(() => readdirSync(join(w.lower, path))) ?? []) {
    if (shown.has(name) || lstat(join(w.upper, path, name))) continue;
    const low = lstat(join(w.lower, path, name));
    if (low) remove(w, `${path}/${name}`, low);
  }
}

/** The working directory's `path` deleted by the task: one step, and each file under it recorded. */
export function remove(w: Walk, path: string, low: Stats): void {
  w.out.steps.push({ op: 'delete', path });
  record(w, path, low.isDirectory(), (p) => {
    const st = lstat(join(w.lower, p));
    if (st && !st.isDirectory()) note(w, p, false, { path: p, before: content(join(w.lower, p), st, w.maxFileBytes) });
  });
}

/** A file a task made inside a new folder: recorded as created. */
export function written(w: Walk, path: string): void {
  const st = lstat(join(w.upper, path));
  if (st && (st.isFile() || st.isSymbolicLink()))
    note(w, path, false, { path, after: content(join(w.upper, path), st, w.maxFileBytes) });
}

/** Calls `each` for `path`, or for every file below it when it is a folder (`root`: the layer it is in). */
export function record(w: Walk, path: string, dir: boolean, each: (path: string) => void): void {
  if (!dir) return each(path);
  if (w.ignoredBy(path, true)) return count(w, path, true);
  const root = lstat(join(w.upper, path))?.isDirectory() ? w.upper : w.lower;
  for (const name of safely(() => readdirSync(join(root, path))) ?? []) {
    const sub = `${path}/${name}`;
    record(w, sub, lstat(join(root, sub))?.isDirectory() ?? false, each);
  }
}

/** A change recorded, or counted when the project ignores its path (the merge takes it all the same). */
export function note(w: Walk, path: string, dir: boolean, change: TreeChange): void {
  if (w.ignoredBy(path, dir)) return count(w, path, dir);
  w.out.changes.push(change);
}

/** What the project ignores is counted per outermost ignored folder (or file). */
function count(w: Walk, path: string, dir: boolean): void {
  const parts = path.split('/');
  let top = path;
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (w.ignoredBy(prefix, i < parts.length || dir)) {
      top = prefix;
      break;
    }
  }
  const entries = dir ? entriesBelow(w, path) : 1;
  w.ignoredCounts.set(top, (w.ignoredCounts.get(top) ?? 0) + entries);
}

function entriesBelow(w: Walk, path: string): number {
  const root = lstat(join(w.upper, path))?.isDirectory() ? w.upper : w.lower;
  return safely(() => readdirSync(join(root, path), { recursive: true }).length) ?? 0;
}

export function content(abs: string, st: Stats, maxFileBytes: number): Content {
  const mode = st.mode & 0o7777;
  if (st.isSymbolicLink()) {
    const bytes = Buffer.from(safely(() => readlinkSync(abs)) ?? '');
    return { kind: 'link', hash: contentHash(bytes), mode, size: bytes.length, bytes };
  }
  const bytes = st.size <= maxFileBytes ? safely(() => readFileSync(abs)) : undefined;
  if (!bytes) return { kind: 'file', hash: `stat-${st.size}-${st.mtimeMs}-${st.ino}`, mode, size: st.size };
  return { kind: 'file', hash: contentHash(bytes), mode, size: bytes.length, bytes };
}

export function lstat(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

const sameContent = (a: Content | undefined, b: Content | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.hash === b.hash && a.mode === b.mode && a.kind === b.kind);

/**
 * What changed between two captures of one view (`last`, by path, then `now`): a path the task
 * wrote again goes from what it held then to what it holds now, and one it no longer changes goes
 * back to the working directory's content. Pure.
 */
export function changesSince(last: ReadonlyMap<string, TreeChange>, now: readonly TreeChange[]): TreeChange[] {
  const out: TreeChange[] = [];
  const side = (key: 'before' | 'after', c: Content | undefined) => (c ? { [key]: c } : {});
  for (const c of now) {
    const was = last.get(c.path);
    if (!was) out.push(c);
    else if (!sameContent(was.after, c.after))
      out.push({ path: c.path, ...side('before', was.after), ...side('after', c.after) });
  }
  const current = new Set(now.map((c) => c.path));
  for (const [path, was] of last)
    if (!current.has(path) && !sameContent(was.after, was.before))
      out.push({ path, ...side('before', was.after), ...side('after', was.before) });
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}
