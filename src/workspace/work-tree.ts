import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RACY_MS, safely, sameSignature, type FileSignature, type TreeScanner } from './tree-scan.ts';

/** A file's content as the tree keeps it: `bytes` absent when it was too large to keep (then `hash` is its stat's). */
export type Content = { kind: 'file' | 'link'; hash: string; mode: number; size: number; bytes?: Buffer };
/** One path a task changed; `before`/`after` absent: the path did not exist then. */
export type TreeChange = { path: string; before?: Content; after?: Content };
/** A folder or file the project ignores that changed: counted, never read. */
export type IgnoredChange = { path: string; entries: number };
export type TreeLimits = { maxFileBytes: number; maxKeptBytes: number };

export const contentHash = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

type Known = { sig: FileSignature; content: Content; racy: boolean };

/**
 * The working directory as a run has seen it: every file's content from the run's start (read
 * once), then, at each refresh, what changed since the last one. The contents are kept in memory
 * (up to `maxKeptBytes`) so that a file a task overwrites still has its before content to store;
 * a refresh stats every file and reads only those whose stat moved.
 */
export class WorkTree {
  private readonly known = new Map<string, Known>();
  private ignoredDirs = new Map<string, number>();
  private ignoredFiles = new Map<string, FileSignature>();
  private keptBytes = 0;
  /** When the tree was last compared with the disk (performance.now()). */
  lookedAt = 0;

  constructor(
    private readonly scanner: TreeScanner,
    private readonly limits: TreeLimits,
  ) {
    const scan = scanner.scan();
    for (const [path, sig] of scan.files)
      this.known.set(path, { sig, content: this.read(path, sig), racy: sig.mtimeMs > scan.startedMs - RACY_MS });
    this.ignoredDirs = scan.ignoredDirs;
    this.ignoredFiles = scan.ignoredFiles;
    this.lookedAt = performance.now();
  }

  get workdir(): string {
    return this.scanner.workdir;
  }

  /** The content of a path as last seen (undefined: it did not exist). */
  content(path: string): Content | undefined {
    return this.known.get(path)?.content;
  }

  /** What changed since the tree was read or last refreshed; the tree then holds the new contents. */
  refresh(): { changes: TreeChange[]; ignored: IgnoredChange[] } {
    const scan = this.scanner.scan();
    const changes: TreeChange[] = [];
    for (const [path, sig] of scan.files) {
      const known = this.known.get(path);
      if (known && sameSignature(known.sig, sig) && !known.racy) continue;
      const content = this.read(path, sig);
      const racy = sig.mtimeMs > scan.startedMs - RACY_MS;
      if (known) this.keptBytes -= known.content.bytes?.length ?? 0;
      this.known.set(path, { sig, content, racy });
      if (
        known &&
        known.content.hash === content.hash &&
        known.content.mode === content.mode &&
        known.content.kind === content.kind
      )
        continue;
      changes.push({ path, ...(known ? { before: known.content } : {}), after: content });
    }
    for (const [path, known] of this.known) {
      if (scan.files.has(path)) continue;
      this.known.delete(path);
      this.keptBytes -= known.content.bytes?.length ?? 0;
      changes.push({ path, before: known.content });
    }
    const ignored = [
      ...ignoredChanges(this.workdir, this.ignoredDirs, scan.ignoredDirs, true),
      ...ignoredChanges(this.workdir, this.ignoredFiles, scan.ignoredFiles, false),
    ];
    this.ignoredDirs = scan.ignoredDirs;
    this.ignoredFiles = scan.ignoredFiles;
    this.lookedAt = performance.now();
    return { changes: changes.sort((a, b) => (a.path < b.path ? -1 : 1)), ignored };
  }

  private read(path: string, sig: FileSignature): Content {
    const abs = join(this.workdir, path);
    if (sig.kind === 'link') {
      const bytes = Buffer.from(safely(() => readlinkSync(abs)) ?? '');
      return { kind: 'link', hash: contentHash(bytes), mode: sig.mode, size: bytes.length, bytes };
    }
    const bytes = sig.size <= this.limits.maxFileBytes ? safely(() => readFileSync(abs)) : undefined;
    // Too large to keep (or gone meanwhile): known by its stat, so a change still shows.
    if (!bytes)
      return { kind: 'file', hash: `stat-${sig.size}-${sig.mtimeMs}-${sig.ino}`, mode: sig.mode, size: sig.size };
    const keep = this.keptBytes + bytes.length <= this.limits.maxKeptBytes;
    if (keep) this.keptBytes += bytes.length;
    return { kind: 'file', hash: contentHash(bytes), mode: sig.mode, size: bytes.length, ...(keep ? { bytes } : {}) };
  }
}

function ignoredChanges<V>(
  workdir: string,
  before: Map<string, V>,
  after: Map<string, V>,
  dirs: boolean,
): IgnoredChange[] {
  const out: IgnoredChange[] = [];
  const same = (a: V, b: V) =>
    typeof a === 'number' ? a === b : sameSignature(a as FileSignature, b as FileSignature);
  for (const [path, now] of after) {
    const was = before.get(path);
    if (was !== undefined && same(was, now)) continue;
    out.push({ path, entries: dirs ? countEntries(join(workdir, path)) : 1 });
  }
  for (const path of before.keys()) if (!after.has(path)) out.push({ path, entries: 0 });
  return out;
}

const MAX_COUNTED = 100_000;

function countEntries(dir: string): number {
  return Math.min(MAX_COUNTED, safely(() => readdirSync(dir, { recursive: true }).length) ?? 0);
}
