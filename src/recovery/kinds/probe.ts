import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ALWAYS_IGNORED } from '../../context/project-files.ts';

/**
 * What a strategy per kind of mistake may ask of the working directory: whether a path is
 * there, what a file starts with, where a file of a name lies in the tree. Reads only, within
 * bounds (depth, entries, bytes): a strategy looks, it never writes.
 */
export type Probe = {
  workdir: string;
  isFile(path: string): boolean;
  isDir(path: string): boolean;
  /** The first bytes of a file (empty when it cannot be read). */
  head(path: string, bytes?: number): Buffer;
  /** A small text file's content, or undefined. */
  text(path: string, maxBytes?: number): string | undefined;
  /** Relative paths of the files under the tree whose path ends with `suffix` (`util.h`, `geo/point.hpp`). */
  findEnding(suffix: string): string[];
  /** Relative paths of the files the predicate accepts. */
  findFiles(accept: (path: string) => boolean): string[];
};

const SKIPPED = new Set(ALWAYS_IGNORED.map((p) => p.replace(/\/$/, '')));
const MAX_DEPTH = 6;
const MAX_ENTRIES = 20_000;

/** Reads at `root` (the task's view of `workdir`, or the folder itself); absolute paths in `workdir` are read there too. */
export function diskProbe(workdir: string, root = workdir): Probe {
  const abs = (p: string) =>
    !p.startsWith('/')
      ? join(root, p)
      : p === workdir || p.startsWith(`${workdir}/`)
        ? root + p.slice(workdir.length)
        : p;
  const stat = (p: string) => {
    try {
      return statSync(abs(p));
    } catch {
      return undefined;
    }
  };
  let files: string[] | undefined;
  const all = (): string[] => {
    if (files) return files;
    files = [];
    const walk = (rel: string, depth: number) => {
      if (depth > MAX_DEPTH || files!.length >= MAX_ENTRIES) return;
      let entries;
      try {
        entries = readdirSync(join(root, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (!SKIPPED.has(e.name)) walk(path, depth + 1);
        } else if (e.isFile()) files!.push(path);
      }
    };
    walk('', 0);
    return files;
  };
  return {
    workdir,
    isFile: (p) => stat(p)?.isFile() === true,
    isDir: (p) => stat(p)?.isDirectory() === true,
    head: (p, bytes = 16) => {
      try {
        const fd = openSync(abs(p), 'r');
        try {
          const buf = Buffer.alloc(bytes);
          const n = readSync(fd, buf, 0, bytes, 0);
          return buf.subarray(0, n);
        } finally {
          closeSync(fd);
        }
      } catch {
        return Buffer.alloc(0);
      }
    },
    text: (p, maxBytes = 256 * 1024) => {
      const info = stat(p);
      if (!info?.isFile() || info.size > maxBytes) return undefined;
      try {
        return readFileSync(abs(p), 'utf8');
      } catch {
        return undefined;
      }
    },
    findEnding: (suffix) => all().filter((f) => f === suffix || f.endsWith(`/${suffix}`)),
    findFiles: (accept) => all().filter(accept),
  };
}
