import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { ALWAYS_IGNORED, isIgnored } from '../context/project-files.ts';

/** What a file's stat says of it: two equal signatures mean unchanged (unless racy, see below). */
export type FileSignature = {
  kind: 'file' | 'link';
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  mode: number;
};

export type TreeScan = {
  /** Every file and symlink the project does not ignore, by path relative to the working directory. */
  files: Map<string, FileSignature>;
  /** Folders the project ignores (node_modules, build output), with their own mtime: counted, not read. */
  ignoredDirs: Map<string, number>;
  /** Files the project ignores (`*.log`), with their signature: counted, not read. */
  ignoredFiles: Map<string, FileSignature>;
  /** When the scan started: a file modified this close to it may change again within its mtime's tick. */
  startedMs: number;
};

/** A folder's .gitignore, and what sets this version of it apart (its folder and mtime). */
type Rules = { prefix: string; rules: Ignore; key: string };
/** A folder entry as last listed, with the verdict of the rules in force then. */
type Entry = { name: string; dir: boolean; path: string; abs: string; ignored?: boolean; rulesKey?: string };

const ALWAYS_IGNORED_NAMES = new Set(ALWAYS_IGNORED.map((p) => p.replace(/\/$/, '')));

/** Never looked into: the repository's own store and the tool's state (they are not the task's work). */
export const NEVER_SCANNED: ReadonlySet<string> = new Set(['.git', '.implement-agent']);

/**
 * Stats every file of the working directory, synchronously (a thousand-file project takes a
 * few milliseconds; one call per entry with no promise each is what keeps it there). Folders are
 * listed again only when their mtime moved; `.gitignore` files are read again only when theirs did.
 */
export class TreeScanner {
  private readonly dirs = new Map<string, { mtimeMs: number; names: Entry[] }>();
  private readonly gitignores = new Map<string, Rules>();

  constructor(
    readonly workdir: string,
    /** Paths the tool itself writes (the tasks file, its state folder): never a task's change. */
    private readonly excluded: ReadonlySet<string>,
  ) {}

  scan(): TreeScan {
    const startedMs = Date.now();
    const files = new Map<string, FileSignature>();
    const ignoredDirs = new Map<string, number>();
    const ignoredFiles = new Map<string, FileSignature>();
    const visit = (rel: string, info: Stats, outer: Rules[]) => {
      const names = this.list(rel, info);
      const ignores = names.some((n) => n.name === '.gitignore' && !n.dir) ? [...outer, this.gitignore(rel)] : outer;
      const rulesKey = ignores.map((r) => r.key).join('|');
      for (const entry of names) {
        const { name, dir, path } = entry;
        if (this.excluded.has(path) || (rel === '' && NEVER_SCANNED.has(name))) continue;
        const stat = lstat(entry.abs);
        if (!stat) continue;
        // The folders every project ignores are known by name; a .gitignore's verdict is kept until its rules change.
        if (entry.rulesKey !== rulesKey) {
          entry.ignored =
            (dir && ALWAYS_IGNORED_NAMES.has(name)) || (ignores.length > 0 && isIgnored(ignores, path, dir));
          entry.rulesKey = rulesKey;
        }
        if (dir) {
          if (entry.ignored) ignoredDirs.set(path, stat.mtimeMs);
          else visit(path, stat, ignores);
        } else if (entry.ignored) ignoredFiles.set(path, signature(stat));
        else files.set(path, signature(stat));
      }
    };
    const root = lstat(this.workdir);
    if (root?.isDirectory()) visit('', root, []);
    return { files, ignoredDirs, ignoredFiles, startedMs };
  }

  private list(rel: string, info: Stats): Entry[] {
    const known = this.dirs.get(rel);
    if (known && known.mtimeMs === info.mtimeMs) return known.names;
    const dirents = safely(() => readdirSync(join(this.workdir, rel), { withFileTypes: true })) ?? [];
    const names = dirents
      .filter((d) => d.isFile() || d.isDirectory() || d.isSymbolicLink())
      .map((d): Entry => {
        const path = rel ? `${rel}/${d.name}` : d.name;
        return { name: d.name, dir: d.isDirectory(), path, abs: `${this.workdir}/${path}` };
      });
    this.dirs.set(rel, { mtimeMs: info.mtimeMs, names });
    return names;
  }

  private gitignore(rel: string): Rules {
    const path = join(this.workdir, rel, '.gitignore');
    const mtimeMs = lstat(path)?.mtimeMs ?? -1;
    const known = this.gitignores.get(rel);
    if (known && known.key === `${rel}@${mtimeMs}`) return known;
    const rules: Rules = {
      prefix: rel,
      rules: ignore().add(safely(() => readFileSync(path, 'utf8')) ?? ''),
      key: `${rel}@${mtimeMs}`,
    };
    this.gitignores.set(rel, rules);
    return rules;
  }
}

// Plain numbers, not bigint: a thousand-file walk is half as fast with bigint stats, and mtimeMs keeps microseconds.
function lstat(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

function signature(stat: Stats): FileSignature {
  return {
    kind: stat.isSymbolicLink() ? 'link' : 'file',
    size: stat.size,
    mtimeMs: stat.mtimeMs,
    ctimeMs: stat.ctimeMs,
    ino: stat.ino,
    mode: stat.mode & 0o7777,
  };
}

export function sameSignature(a: FileSignature, b: FileSignature): boolean {
  return (
    a.kind === b.kind &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.ino === b.ino &&
    a.mode === b.mode
  );
}

/**
 * A file whose mtime falls within a clock tick of the scan may be written again in the same tick
 * with the same size and stat (git's "racy" entries): its content is hashed again next time.
 */
export const RACY_MS = 20;

/** A read that may fail (a file gone meanwhile, a folder not readable): undefined then. */
export function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
