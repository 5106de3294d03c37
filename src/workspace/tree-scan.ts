import { lstatSync, readdirSync, readFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { ALWAYS_IGNORED, isIgnored } from '../context/project-files.ts';

/** What a file's stat says of it: two equal signatures mean unchanged (unless racy, see below). */
export type FileSignature = { kind: 'file' | 'link'; size: number; mtimeNs: bigint; ctimeNs: bigint; ino: bigint; mode: number };

export type TreeScan = {
  /** Every file and symlink the project does not ignore, by path relative to the working directory. */
  files: Map<string, FileSignature>;
  /** Folders the project ignores (node_modules, build output), with their own mtime: counted, not read. */
  ignoredDirs: Map<string, bigint>;
  /** Files the project ignores (`*.log`), with their signature: counted, not read. */
  ignoredFiles: Map<string, FileSignature>;
  /** When the scan started: a file modified this close to it may change again within its mtime's tick. */
  startedNs: bigint;
};

/** Never looked into: the repository's own store and the tool's state (they are not the task's work). */
const NEVER_SCANNED = new Set(['.git', '.implement-agent']);

/**
 * Stats every file of the working directory, synchronously (a thousand-file project takes a
 * few milliseconds; one call per entry with no promise each is what keeps it there). Folders are
 * listed again only when their mtime moved; `.gitignore` files are read again only when theirs did.
 */
export class TreeScanner {
  private readonly dirs = new Map<string, { mtimeNs: bigint; names: { name: string; dir: boolean }[] }>();
  private readonly gitignores = new Map<string, { mtimeNs: bigint; rules: Ignore }>();

  constructor(
    readonly workdir: string,
    /** Paths the tool itself writes (the tasks file, its state folder): never a task's change. */
    private readonly excluded: ReadonlySet<string>,
  ) {}

  scan(): TreeScan {
    const startedNs = BigInt(Date.now()) * 1_000_000n;
    const files = new Map<string, FileSignature>();
    const ignoredDirs = new Map<string, bigint>();
    const ignoredFiles = new Map<string, FileSignature>();
    const visit = (rel: string, info: BigIntStats, outer: { prefix: string; rules: Ignore }[]) => {
      const names = this.list(rel, info);
      const ignores = names.some((n) => n.name === '.gitignore' && !n.dir) ? [...outer, { prefix: rel, rules: this.gitignore(rel) }] : outer;
      for (const { name, dir } of names) {
        const path = rel ? `${rel}/${name}` : name;
        if (this.excluded.has(path) || (rel === '' && NEVER_SCANNED.has(name))) continue;
        const stat = lstat(join(this.workdir, path));
        if (!stat) continue;
        const ignored = isIgnored(ignores, path, dir);
        if (dir) {
          if (ignored) ignoredDirs.set(path, stat.mtimeNs);
          else visit(path, stat, ignores);
        } else if (ignored) ignoredFiles.set(path, signature(stat));
        else files.set(path, signature(stat));
      }
    };
    const root = lstat(this.workdir);
    if (root?.isDirectory()) visit('', root, [{ prefix: '', rules: ignore().add(ALWAYS_IGNORED) }]);
    return { files, ignoredDirs, ignoredFiles, startedNs };
  }

  private list(rel: string, info: BigIntStats): { name: string; dir: boolean }[] {
    const known = this.dirs.get(rel);
    if (known && known.mtimeNs === info.mtimeNs) return known.names;
    const dirents = safely(() => readdirSync(join(this.workdir, rel), { withFileTypes: true })) ?? [];
    const names = dirents.filter((d) => d.isFile() || d.isDirectory() || d.isSymbolicLink()).map((d) => ({ name: d.name, dir: d.isDirectory() }));
    this.dirs.set(rel, { mtimeNs: info.mtimeNs, names });
    return names;
  }

  private gitignore(rel: string): Ignore {
    const path = join(this.workdir, rel, '.gitignore');
    const mtimeNs = lstat(path)?.mtimeNs ?? -1n;
    const known = this.gitignores.get(rel);
    if (known && known.mtimeNs === mtimeNs) return known.rules;
    const rules = ignore().add(safely(() => readFileSync(path, 'utf8')) ?? '');
    this.gitignores.set(rel, { mtimeNs, rules });
    return rules;
  }
}

function lstat(path: string): BigIntStats | undefined {
  return safely(() => lstatSync(path, { bigint: true }));
}

function signature(stat: BigIntStats): FileSignature {
  return { kind: stat.isSymbolicLink() ? 'link' : 'file', size: Number(stat.size), mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs, ino: stat.ino, mode: Number(stat.mode & 0o7777n) };
}

export function sameSignature(a: FileSignature, b: FileSignature): boolean {
  return a.kind === b.kind && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.mode === b.mode;
}

/**
 * A file whose mtime falls within a clock tick of the scan may be written again in the same tick
 * with the same size and stat (git's "racy" entries): its content is hashed again next time.
 */
export const RACY_NS = 20_000_000n;

function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
