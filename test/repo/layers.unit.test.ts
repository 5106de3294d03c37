import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/nats.ts';

/** Every relative import (type imports too) of every module under src/. */
function importGraph(): Map<string, string[]> {
  const src = join(REPO_ROOT, 'src');
  const graph = new Map<string, string[]>();
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\s[^;]*?from '(\.[^']+)'/gm)].map((m) =>
      relative(src, resolve(dirname(file), m[1]!)),
    );
    graph.set(relative(src, file), targets);
  }
  return graph;
}

const folderOf = (path: string) => path.split('/')[0]!;

function cycles(edges: Map<string, Set<string>>): string[][] {
  const found: string[][] = [];
  const visit = (node: string, path: string[]) => {
    for (const next of edges.get(node) ?? []) {
      const at = path.indexOf(next);
      if (at < 0) {
        visit(next, [...path, next]);
        continue;
      }
      // Each cycle once, however many paths lead into it; a path never goes round one again.
      if (!found.some((c) => c.length === path.length - at + 1 && path.slice(at).every((n) => c.includes(n))))
        found.push([...path.slice(at), next]);
    }
  };
  for (const node of edges.keys()) visit(node, [node]);
  return found;
}

describe('layers', () => {
  it('no folder of src/ imports, through any chain, a folder that imports it back', () => {
    const edges = new Map<string, Set<string>>();
    for (const [file, targets] of importGraph()) {
      for (const t of targets) {
        if (folderOf(t) === folderOf(file)) continue;
        if (!edges.has(folderOf(file))) edges.set(folderOf(file), new Set());
        edges.get(folderOf(file))!.add(folderOf(t));
      }
    }
    expect(cycles(edges).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('no module imports, through any chain, a module that imports it back', () => {
    const edges = new Map([...importGraph()].map(([file, targets]) => [file, new Set(targets)]));
    expect(cycles(edges).map((c) => c.join(' -> '))).toEqual([]);
  });
});
