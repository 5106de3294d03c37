import { createHash } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { isUnread, readInside, realRoot, withInside, type Unread } from './read-inside.ts';

/**
 * A file of the project as the planner sees it; `checksum` null: not read, for the reason in
 * `unread` (absent: the file does not exist).
 */
export type ProjectFile = {
  path: string;
  checksum: string | null;
  content: string;
  truncated: boolean;
  unread?: Exclude<Unread, 'missing'>;
};
export type TreeEntry = { path: string; dir: boolean; mtimeMs: number };
export type ProjectTree = { entries: TreeEntry[]; total: number; walkedAll: boolean };

/** Never worth showing a planner, whatever .gitignore says. */
export const ALWAYS_IGNORED = ['.git/', 'node_modules/', '.implement-agent/', '.venv/', '__pycache__/'];

const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * The working directory as the planner sees it, loaded incrementally: a directory is listed again
 * only when its mtime moved, a file is read again only when its size or mtime moved, and a file
 * counts as changed only when its checksum did. Concurrent loads share one walk.
 */
export class ProjectFiles {
  private readonly dirs = new Map<string, { mtimeMs: number; names: { name: string; dir: boolean }[] }>();
  private readonly files = new Map<string, { size: number; mtimeMs: number; file: ProjectFile }>();
  private walking: Promise<ProjectTree> | undefined;
  private root: Promise<string> | undefined;
  /** Folders listed and files read so far: what incremental loading saves is counted here. */
  readonly counters = { listed: 0, read: 0 };

  constructor(
    readonly workdir: string,
    private readonly limits: { maxWalk: number; maxFileBytes: number },
  ) {}

  /** The working directory's real path: what every file read must lie in. */
  private realRoot(): Promise<string> {
    return (this.root ??= realRoot(this.workdir));
  }

  /** Every file and folder (up to `maxWalk`), .gitignore respected, breadth first. */
  tree(): Promise<ProjectTree> {
    this.walking ??= this.walk().finally(() => (this.walking = undefined));
    return this.walking;
  }

  private async walk(): Promise<ProjectTree> {
    const entries: TreeEntry[] = [];
    const ignores: { prefix: string; rules: Ignore }[] = [{ prefix: '', rules: ignore().add(ALWAYS_IGNORED) }];
    let queue = [''];
    let total = 0;
    while (queue.length && total < this.limits.maxWalk) {
      const next: string[] = [];
      for (const rel of queue) {
        const names = await this.list(rel);
        if (names.some((n) => n.name === '.gitignore' && !n.dir)) {
          const read = await readInside(await this.realRoot(), join(rel, '.gitignore'));
          ignores.push({ prefix: rel, rules: ignore().add(isUnread(read) ? '' : read.bytes.toString('utf8')) });
        }
        const infos = await Promise.all(
          names.map(async ({ name, dir }) => {
            const path = rel ? `${rel}/${name}` : name;
            if (isIgnored(ignores, path, dir)) return undefined;
            // lstat: the mtime of what the listing saw; a link swapped in since is not followed.
            const info = await lstat(join(this.workdir, path)).catch(() => undefined);
            return info ? { path, dir, mtimeMs: info.mtimeMs } : undefined;
          }),
        );
        for (const entry of infos) {
          if (!entry) continue;
          if (total++ >= this.limits.maxWalk) break;
          entries.push(entry);
          if (entry.dir) next.push(entry.path);
        }
      }
      queue = next;
    }
    return { entries, total, walkedAll: total < this.limits.maxWalk };
  }

  /** A folder's files and folders (links are neither: the tree never shows or follows one). */
  private async list(rel: string): Promise<{ name: string; dir: boolean }[]> {
    const listed = await withInside(await this.realRoot(), rel, 'dir', async ({ info, proc }) => {
      const known = this.dirs.get(rel);
      if (known && known.mtimeMs === info.mtimeMs) return known.names;
      this.counters.listed++;
      // Listed through the open descriptor: the very folder that was checked.
      const dirents = await readdir(proc, { withFileTypes: true }).catch(() => []);
      const names = dirents
        .filter((d) => d.isFile() || d.isDirectory())
        .map((d) => ({ name: d.name, dir: d.isDirectory() }))
        .sort((a, b) => a.name.localeCompare(b.name));
      this.dirs.set(rel, { mtimeMs: info.mtimeMs, names });
      return names;
    });
    return isUnread(listed) ? [] : listed;
  }

  /**
   * A file's content (capped) and checksum. A path outside the working directory is refused, and
   * so is a link (at any level of the path) whose target leaves it: `unread` says which.
   */
  async read(path: string): Promise<ProjectFile> {
    const rel = insideWorkdir(path);
    if (rel === undefined) return { path, checksum: null, content: '', truncated: false };
    const file = await withInside(await this.realRoot(), rel, 'file', async ({ handle, info }) => {
      const known = this.files.get(rel);
      if (known && known.size === info.size && known.mtimeMs === info.mtimeMs) return known.file;
      this.counters.read++;
      const file = this.shown(rel, await handle.readFile());
      this.files.set(rel, { size: info.size, mtimeMs: info.mtimeMs, file });
      return file;
    });
    if (!isUnread(file)) return file;
    this.files.delete(rel);
    return {
      path: rel,
      checksum: null,
      content: '',
      truncated: false,
      ...(file === 'missing' ? {} : { unread: file }),
    };
  }

  private shown(rel: string, bytes: Buffer): ProjectFile {
    const binary = bytes.subarray(0, 8000).includes(0);
    const content = binary
      ? `(binary, ${bytes.length} bytes)`
      : bytes.subarray(0, this.limits.maxFileBytes).toString('utf8');
    return { path: rel, checksum: sha(bytes), content, truncated: !binary && bytes.length > this.limits.maxFileBytes };
  }
}

export function isIgnored(ignores: { prefix: string; rules: Ignore }[], path: string, dir: boolean): boolean {
  return ignores.some(({ prefix, rules }) => {
    if (prefix && !path.startsWith(`${prefix}/`)) return false;
    const rel = prefix ? path.slice(prefix.length + 1) : path;
    return rules.ignores(dir ? `${rel}/` : rel);
  });
}

/** The path relative to the working directory, or undefined when it would leave it. */
export function insideWorkdir(path: string): string | undefined {
  if (isAbsolute(path)) return undefined;
  const rel = normalize(path).split(sep).join('/');
  if (rel === '..' || rel.startsWith('../') || rel === '.') return undefined;
  return rel.replace(/^\.\//, '');
}

/**
 * The tree as a planner reads it, within `maxEntries` lines: shallow entries first, and a folder
 * whose contents do not fit is shown with a count of what it holds.
 */
export function renderTree(tree: ProjectTree, maxEntries: number): string {
  const shown = tree.entries.slice(0, maxEntries);
  const shownDirs = new Set(shown.filter((e) => e.dir).map((e) => e.path));
  const hidden = new Map<string, number>();
  for (const entry of tree.entries.slice(maxEntries)) {
    // The deepest folder on the entry's path that is shown holds it.
    const parts = entry.path.split('/');
    for (let n = parts.length - 1; n > 0; n--) {
      const dir = parts.slice(0, n).join('/');
      if (shownDirs.has(dir)) {
        hidden.set(dir, (hidden.get(dir) ?? 0) + 1);
        break;
      }
    }
  }
  const lines = [...shown]
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((e) => {
      const more = hidden.get(e.path);
      return `${e.path}${e.dir ? '/' : ''}${more ? ` (${more}${tree.walkedAll ? '' : '+'} more not shown)` : ''}`;
    });
  if (!tree.walkedAll)
    lines.push(`(the project has more than ${tree.total} files and folders; the first ${tree.total} were looked at)`);
  return lines.join('\n');
}

const PATH_WORD =
  /(?:^|[\s(`'"[])((?:\.{0,2}\/)?[\w@.-]+(?:\/[\w@.-]+)+|[\w@-]+(?:\.[\w-]+)*\.(?:[a-z][a-z0-9]{0,5}))(?=$|[\s)`'",:;\]]|\.(?:\s|$))/gi;
/** Words that look like `name.ext` but are not files a task means. */
const NOT_FILES = /^(e\.g|i\.e|etc|vs|node\.js|next\.js|vue\.js|react\.js|express\.js)$/i;

/**
 * The files a task names: backticked paths and path-like words in its title, description and
 * commands (`src/config.js`, `package.json`, `lib/`), in order, without duplicates.
 */
export function namedPaths(texts: readonly string[], max = 8): string[] {
  const out: string[] = [];
  for (const text of texts) {
    for (const m of text.matchAll(PATH_WORD)) {
      const word = m[1]!.replace(/[.,:;]+$/, '');
      if (NOT_FILES.test(word) || /^\d+(\.\d+)+$/.test(word) || /^https?:/i.test(word)) continue;
      const rel = insideWorkdir(word);
      if (rel !== undefined && !out.includes(rel)) out.push(rel);
      if (out.length >= max) return out;
    }
  }
  return out;
}

/** An input of a plan whose checksum is not what the plan was made from (null: no such file). */
export type ChangedInput = { path: string; was: string | null; now: string | null };

/** The inputs of a plan that differ now from when it was made (read afresh, by checksum). */
export async function changedInputs(
  workdir: string,
  inputs: readonly { path: string; checksum: string | null }[],
): Promise<ChangedInput[]> {
  // A plan of explicit commands reads no file: nothing to resolve (a run of them asks once a task).
  if (inputs.length === 0) return [];
  const root = await realRoot(workdir);
  const now = await Promise.all(
    inputs.map(async (input) => {
      const rel = insideWorkdir(input.path);
      const read = rel === undefined ? 'missing' : await readInside(root, rel);
      return { path: input.path, was: input.checksum, now: isUnread(read) ? null : sha(read.bytes) };
    }),
  );
  return now.filter((c) => c.was !== c.now);
}
