import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import { isUnread, realRoot, withInside } from './read-inside.ts';

export type LoadedFile = { path: string; size: number; mtimeMs: number; checksum: string; content: string };
export type LoadStats = { statted: number; read: number; changed: number };

/** The spec files a task's context is made of, beside tasks.md. */
const CONTEXT_FILES = ['requirements.md', 'design.md'];

const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * Loads context files once, then only what changed: each reload stats every file, reads only
 * those whose size or mtime moved, and counts a file as changed only when its checksum did.
 * A file is read only when it lies in `root` (the working directory when the files are in it,
 * where a task could have replaced one by a link to a secret; else their own folder).
 */
export class ContextLoader {
  private readonly files = new Map<string, LoadedFile>();
  private real: Promise<string> | undefined;
  lastLoad: LoadStats = { statted: 0, read: 0, changed: 0 };

  constructor(
    readonly dir: string,
    private readonly names: readonly string[] = CONTEXT_FILES,
    private readonly root: string = dir,
  ) {}

  async load(): Promise<Map<string, LoadedFile>> {
    const stats: LoadStats = { statted: 0, read: 0, changed: 0 };
    await Promise.all(
      this.names.map(async (name) => {
        const path = join(this.dir, name);
        stats.statted++;
        const root = await (this.real ??= realRoot(this.root));
        const read = await withInside(root, relative(this.root, path), 'file', async ({ handle, info }) => {
          const known = this.files.get(name);
          if (known && known.size === info.size && known.mtimeMs === info.mtimeMs) return;
          const content = await handle.readFile('utf8');
          stats.read++;
          const checksum = sha(content);
          if (known?.checksum !== checksum) stats.changed++;
          this.files.set(name, { path, size: info.size, mtimeMs: info.mtimeMs, checksum, content });
        });
        if (isUnread(read)) {
          if (this.files.has(name)) stats.changed++;
          this.files.delete(name);
        }
      }),
    );
    this.lastLoad = stats;
    return this.files;
  }

  /** Checksum of every context file together: what a similar-task cache hit must match. */
  checksum(): string {
    return sha(
      [...this.files.values()]
        .map((f) => `${f.path}:${f.checksum}`)
        .sort()
        .join('\n'),
    );
  }
}
