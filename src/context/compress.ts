import { createHash } from 'node:crypto';
import type { HistoryEntry } from '../projections/task-history.ts';
import { isNumberedRef } from '../tasklist/requirement-refs.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';

export type CompressedContext = { text: string; checksum: string; tokens: number };

/** About four characters a token: enough to keep a prompt inside its budget. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

type Section = { heading: string; body: string };

function sections(markdown: string): Section[] {
  const out: Section[] = [];
  let current: Section = { heading: '', body: '' };
  for (const line of markdown.split('\n')) {
    if (/^#{1,4}\s/.test(line)) {
      if (current.heading || current.body.trim()) out.push(current);
      current = { heading: line.trim(), body: '' };
    } else {
      current.body += `${line}\n`;
    }
  }
  if (current.heading || current.body.trim()) out.push(current);
  return out;
}

function terms(task: TaskSpec): string[] {
  const words = `${task.title} ${task.description.join(' ')}`.toLowerCase().match(/[a-z0-9_./-]{4,}/g) ?? [];
  // A path names things too: docs/beta.md is about "docs" and "beta".
  const parts = words.flatMap((w) => w.split(/[./-]/).filter((p) => p.length >= 4));
  return [...new Set([...words, ...parts])].filter(
    (w) => !['with', 'that', 'this', 'from', 'into', 'each', 'when', 'should', 'write', 'create', 'using'].includes(w),
  );
}

/**
 * The context one task is planned with, within a token budget: the requirements it references
 * first, then design essentials (headings, and the sections that mention the task's terms), then
 * the most relevant recent history. Its checksum keys the plan cache, so a change to a part of
 * design.md that this task never sees does not invalidate its plan.
 */
export function compressContext(
  task: TaskSpec,
  files: { requirements?: string; design?: string },
  history: readonly HistoryEntry[],
  budgetTokens: number,
): CompressedContext {
  const budget = budgetTokens * 4;
  const parts: string[] = [];
  let used = 0;
  const add = (text: string) => {
    if (!text.trim() || used >= budget) return;
    const piece = text.slice(0, budget - used);
    parts.push(piece);
    used += piece.length;
  };

  const refs = task.requirements.map((r) => r.trim()).filter(Boolean);
  const reqSections = sections(files.requirements ?? '');
  const referenced = reqSections.filter((s) => refs.some((r) => mentionsRequirement(s, r)));
  if (referenced.length)
    add(
      `## Requirements this task references\n${referenced.map((s) => `${s.heading}\n${s.body.trim()}`).join('\n\n')}\n`,
    );

  const designSections = sections(files.design ?? '');
  const taskTerms = terms(task);
  const relevant = designSections.filter((s) =>
    taskTerms.some((t) => `${s.heading}\n${s.body}`.toLowerCase().includes(t)),
  );
  if (designSections.length)
    add(
      `## Design outline\n${designSections
        .map((s) => s.heading)
        .filter(Boolean)
        .join('\n')}\n`,
    );
  if (relevant.length)
    add(`## Design sections about this task\n${relevant.map((s) => `${s.heading}\n${s.body.trim()}`).join('\n\n')}\n`);

  const related = [...history]
    .reverse()
    .filter(
      (h) => h.requirements.some((r) => refs.includes(r)) || taskTerms.some((t) => h.title.toLowerCase().includes(t)),
    )
    .slice(0, 5);
  if (related.length)
    add(
      `## Related earlier tasks\n${related.map((h) => `- ${h.title}: ${h.outcome}${h.reason ? ` (${h.reason})` : ''}`).join('\n')}\n`,
    );

  const text = parts.join('\n');
  // History is advice, not a plan input: it does not change what the plan was planned against.
  const keyed = parts.filter((p) => !p.startsWith('## Related earlier tasks')).join('\n');
  return {
    text,
    checksum: createHash('sha256').update(keyed).digest('hex').slice(0, 16),
    tokens: estimateTokens(text),
  };
}

/**
 * Whether a requirements.md section is the one a reference points at. References come from the
 * task file, so they are matched as text, never compiled into a pattern.
 */
function mentionsRequirement(section: Section, ref: string): boolean {
  const text = `${section.heading}\n${section.body}`;
  if (!isNumberedRef(ref)) return ref.length >= 4 && text.toLowerCase().includes(ref.toLowerCase());
  const major = ref.split('.')[0]!;
  return (
    new RegExp(`requirement\\s+${major}\\b`).test(section.heading.toLowerCase()) ||
    new RegExp(`(^|[^\\d.])${escapeRegExp(ref)}([^\\d]|$)`).test(text)
  );
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
