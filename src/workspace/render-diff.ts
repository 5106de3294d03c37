import { structuredPatch } from 'diff';
import type { FileChange } from '../events/agent-events.ts';

export type Paint = {
  red(t: string): string;
  green(t: string): string;
  bold(t: string): string;
  dim(t: string): string;
};
const noPaint: Paint = { red: (t) => t, green: (t) => t, bold: (t) => t, dim: (t) => t };

const isBinary = (bytes: Uint8Array) => bytes.subarray(0, 8000).includes(0);
const octal = (mode: number | null) => (mode === null ? '' : (0o100000 | mode).toString(8));

/** Lines added and removed by one change (binary and unstored contents count as none). */
export function lineCounts(
  before: Uint8Array | undefined,
  after: Uint8Array | undefined,
): { added: number; removed: number } {
  if ((before && isBinary(before)) || (after && isBinary(after))) return { added: 0, removed: 0 };
  const patch = structuredPatch('a', 'b', text(before), text(after), '', '', { context: 0 });
  let added = 0;
  let removed = 0;
  for (const h of patch.hunks) {
    for (const l of h.lines) {
      if (l.startsWith('+')) added++;
      else if (l.startsWith('-')) removed++;
    }
  }
  return { added, removed };
}

/**
 * One change as git prints it (`diff --git`, mode lines, `---`/`+++`, hunks), from its stored
 * contents; a change whose contents were not stored says so instead of a body.
 */
export function renderChange(
  change: FileChange,
  before: Uint8Array | undefined,
  after: Uint8Array | undefined,
  paint: Paint = noPaint,
): string[] {
  const { path } = change;
  const lines = [paint.bold(`diff --git a/${path} b/${path}`)];
  if (change.before === null) lines.push(paint.bold(`new file mode ${octal(change.mode)}`));
  else if (change.after === null) lines.push(paint.bold(`deleted file mode ${octal(change.beforeMode)}`));
  else if (change.beforeMode !== change.mode)
    lines.push(paint.bold(`old mode ${octal(change.beforeMode)}`), paint.bold(`new mode ${octal(change.mode)}`));
  if (change.beforeKind)
    lines.push(
      paint.dim(
        `(a ${change.beforeKind === 'link' ? 'symbolic link' : 'file'} replaced by a ${change.kind === 'link' ? 'symbolic link' : 'file'})`,
      ),
    );
  else if (change.kind === 'link') lines.push(paint.dim('(a symbolic link: its target is shown)'));
  if (!change.stored)
    return [...lines, paint.dim('(contents not stored: over a size cap; see TaskFilesChanged.skipped)')];
  if ((before && isBinary(before)) || (after && isBinary(after)))
    return [
      ...lines,
      `Binary files ${change.before === null ? '/dev/null' : `a/${path}`} and ${change.after === null ? '/dev/null' : `b/${path}`} differ`,
    ];
  const patch = structuredPatch(path, path, text(before), text(after), '', '', { context: 3 });
  if (patch.hunks.length === 0) return lines;
  lines.push(
    paint.bold(`--- ${change.before === null ? '/dev/null' : `a/${path}`}`),
    paint.bold(`+++ ${change.after === null ? '/dev/null' : `b/${path}`}`),
  );
  for (const h of patch.hunks) {
    lines.push(paint.dim(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`));
    for (const l of h.lines) lines.push(l.startsWith('+') ? paint.green(l) : l.startsWith('-') ? paint.red(l) : l);
  }
  return lines;
}

/** `--stat`: a line per path with its added and removed lines, and the total. */
export function renderStat(
  rows: readonly { path: string; added: number; removed: number }[],
  paint: Paint = noPaint,
): string[] {
  if (rows.length === 0) return [];
  const width = Math.max(...rows.map((r) => r.path.length));
  const most = Math.max(1, ...rows.map((r) => r.added + r.removed));
  const bar = (r: { added: number; removed: number }) => {
    const scale = Math.min(1, 40 / most);
    return paint.green('+'.repeat(Math.ceil(r.added * scale))) + paint.red('-'.repeat(Math.ceil(r.removed * scale)));
  };
  const lines = rows.map((r) => ` ${r.path.padEnd(width)} | ${String(r.added + r.removed).padStart(4)} ${bar(r)}`);
  const added = rows.reduce((n, r) => n + r.added, 0);
  const removed = rows.reduce((n, r) => n + r.removed, 0);
  lines.push(` ${rows.length} file(s) changed, ${added} insertion(s)(+), ${removed} deletion(s)(-)`);
  return lines;
}

/** A hunk's range as git writes it: no count for one line, the line before for none. */
const range = (start: number, lines: number) =>
  lines === 1 ? `${start}` : `${lines === 0 ? start - 1 : start},${lines}`;

const text = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : '');
