import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import ignore from 'ignore';
import * as z from 'zod';
import { EnvironmentError } from '../errors.ts';
import type { ContentStore } from '../events/bus.ts';
import { ALWAYS_IGNORED, isIgnored, insideWorkdir } from '../context/project-files.ts';
import { storedContent } from './stored-content.ts';
import { NEVER_SCANNED } from './tree-scan.ts';
import { contentHash } from './work-tree.ts';

/** One file or link of a project's snapshot; its bytes are in the content store under `hash`. */
const SnapshotEntrySchema = z.object({
  path: z.string(),
  kind: z.enum(['file', 'link']),
  hash: z.string(),
  mode: z.number().int(),
});
const SnapshotSchema = z.object({ files: z.array(SnapshotEntrySchema) });
type SnapshotEntry = z.infer<typeof SnapshotEntrySchema>;

const IGNORED_NAMES = new Set(ALWAYS_IGNORED.map((p) => p.replace(/\/$/, '')));

/**
 * The project's files as a site needs them: in a git repository, what git would see (tracked and
 * untracked, ignored ones left out, so uncommitted changes travel too); elsewhere a walk that
 * leaves out what `.gitignore` and the tool ignore (node_modules, .venv, .git, .implement-agent).
 */
async function projectPaths(workdir: string): Promise<string[]> {
  const listed = await execa('git', ['-C', workdir, 'ls-files', '-z', '-c', '-o', '--exclude-standard'], {
    reject: false,
    env: { GIT_TERMINAL_PROMPT: '0' },
  });
  if (listed.exitCode === 0) return [...new Set(listed.stdout.split('\0').filter(Boolean))];
  const rules = await readFile(join(workdir, '.gitignore'), 'utf8').catch(() => '');
  const ignores = [{ prefix: '', rules: ignore().add(rules) }];
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(workdir, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (IGNORED_NAMES.has(e.name) || isIgnored(ignores, path, e.isDirectory())) continue;
      if (e.isDirectory()) await walk(path);
      else out.push(path);
    }
  };
  await walk('');
  return out;
}

/**
 * Stores a snapshot of `workdir` in the content store (each file once, by its hash) and returns
 * the hash of its manifest: what RunStarted's `project.snapshot` names, for sites to unpack.
 * The tool's own files (`own`, relative) are left out.
 */
export async function snapshotProject(
  workdir: string,
  contents: ContentStore,
  own: readonly string[] = [],
): Promise<string> {
  const files: SnapshotEntry[] = [];
  for (const path of (await projectPaths(workdir)).sort()) {
    if (NEVER_SCANNED.has(path.split('/')[0]!) || own.includes(path)) continue;
    const abs = join(workdir, path);
    const info = await lstat(abs).catch(() => undefined);
    if (!info || (!info.isFile() && !info.isSymbolicLink())) continue;
    const kind = info.isSymbolicLink() ? 'link' : 'file';
    const bytes = kind === 'link' ? Buffer.from(await readlink(abs)) : await readFile(abs);
    const hash = contentHash(bytes);
    await contents.put(hash, bytes);
    files.push({ path, kind, hash, mode: info.mode & 0o7777 });
  }
  const manifest = Buffer.from(JSON.stringify({ files }));
  const hash = contentHash(manifest);
  await contents.put(hash, manifest);
  return hash;
}

/**
 * Unpacks the snapshot `hash` into `dir` (made afresh). Rejects naming what is missing: a
 * manifest or content not in the store, or a path that would leave `dir`.
 */
export async function unpackSnapshot(dir: string, hash: string, contents: ContentStore): Promise<number> {
  const manifest = await storedContent(contents, hash, 'the project snapshot');
  if (!manifest) throw new EnvironmentError(`the project snapshot ${hash.slice(0, 12)} is not in the content store`);
  const { files } = SnapshotSchema.parse(JSON.parse(Buffer.from(manifest).toString('utf8')));
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const f of files) {
    const rel = insideWorkdir(f.path);
    if (rel === undefined || NEVER_SCANNED.has(rel.split('/')[0]!))
      throw new EnvironmentError(`the project snapshot names ${f.path}, outside the project`);
    const bytes = await storedContent(contents, f.hash, f.path);
    if (!bytes) throw new EnvironmentError(`${f.path} of the project snapshot is not in the content store`);
    const abs = join(dir, rel);
    await mkdir(dirname(abs), { recursive: true });
    if (f.kind === 'link') await symlink(Buffer.from(bytes).toString(), abs);
    else {
      await writeFile(abs, bytes);
      await chmod(abs, f.mode);
    }
  }
  return files.length;
}
