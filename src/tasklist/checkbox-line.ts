/**
 * One checkbox line of a task list, every line GitHub renders as a task list item:
 * `- [ ] 1. Title`, `* [x] 1.1 Title`, `- [X] Title` (no number), `- [~] 2 Title`, `- [-] 3. Title`,
 * `- [ ]* 2.2 Title` (Kiro: optional; `- [ ]\* 2.2` as a markdown formatter escapes it),
 * `- [x]! Title`, `- [ ] T012 [P] Title` (Spec Kit: an id and the parallel marker), spaced boxes
 * `[ x ]` and `[   ]`, and in ordered lists, `1. [ ] Title` and `2) [ ] 2.1 Title` (the list
 * item's own number is not the task's: people write `1.` for every item and let the renderer count).
 * Spec Kit's `[P]` where a box would be (`- [P] tasks touch different files`) is a note, not a box.
 * The box character is at `boxIndex`: the writer changes that one byte and nothing else.
 */
export type CheckboxLine = {
  indent: number;
  mark: string;
  /** `[ ]*`: the spec tool marks the task optional (tests, polish). */
  optional: boolean;
  /** The task number (`2.1`, `14a`) or Spec Kit id (`T012`) as written, when there is one. */
  number?: string;
  /** The box holds a mark of no known meaning (`[A]`, `[!]`): read as done, with a warning. */
  unknownMark: boolean;
  /** `[P]` after the id (Spec Kit): may run beside the `[P]` tasks next to it. */
  parallel: boolean;
  title: string;
  boxIndex: number;
};

// GitHub's task lists: the list marker (a bullet, or an ordered item's `1.` / `1)`), one to four
// spaces or a tab, then the box.
const MARKER = String.raw`(?:[-*+]|\d{1,9}[.)])(?: {1,4}|\t)`;
// The box: one mark, with spaces either side or not (`[ x ]`), or only spaces (`[   ]`); then `*`
// (optional), its escaped form `\*`, or `!`.
const LINE = new RegExp(
  String.raw`^([ \t]*)${MARKER}\[(?: *([^\]\s]) *| +)\](\\?\*|!)?[ \t]+(?:(\d+[a-z]?(?:\.\d+[a-z]?)*|T\d+)(?:\.|:|\))?[ \t]+)?(\[P\][ \t]+)?(\S.*)$`,
);
/**
 * Something that tries to be a checkbox but is not one we can read (`- [xx] 1.`, `- []`, a box
 * with no title): named in a warning. A link (`- [Docs](https://...)`, `- [Docs][ref]`) is not a box.
 */
const LOOKS_LIKE = new RegExp(String.raw`^[ \t]*${MARKER}\[(?!P\])[^\]]{0,2}\](?![(\[:])`);
const DONE = new Set(['x', 'X']);
/** Spec Kit's parallel marker: `- [P] …` at the start of a note line explains `[P]`, it is no box. */
const PARALLEL_NOTE = 'P';
/** Boxes spec tools write for "not done yet": empty, queued/in progress, cancelled-or-pending. */
const NOT_DONE = new Set([' ', '~', '-', '/', '>']);

export function readCheckbox(line: string): CheckboxLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, indent = '', mark = ' ', suffix, number, parallel, title = ''] = m;
  if (mark === PARALLEL_NOTE) return undefined;
  const open = line.indexOf('[');
  const close = line.indexOf(']', open);
  return {
    indent: indentWidth(indent),
    mark,
    unknownMark: !DONE.has(mark) && !NOT_DONE.has(mark),
    optional: suffix?.endsWith('*') ?? false,
    parallel: parallel !== undefined,
    ...(number !== undefined ? { number } : {}),
    title: title.trim(),
    // The mark's place; in a box of spaces, the middle one, so a tick reads `[ x ]`.
    boxIndex: mark === ' ' ? open + Math.ceil((close - open - 1) / 2) : line.indexOf(mark, open + 1),
  };
}

const BOM = '\uFEFF';
/** A file's byte-order mark (Windows editors write one), if any, and the text after it: the mark is not part of the first line. */
export const splitBom = (text: string): { bom: string; body: string } =>
  text.startsWith(BOM) ? { bom: BOM, body: text.slice(BOM.length) } : { bom: '', body: text };

export const looksLikeCheckbox = (line: string) => LOOKS_LIKE.test(line);
/** Done, or a mark of no known meaning: not run (what someone marked specially is not redone). */
export const isDoneMark = (mark: string) => DONE.has(mark) || !NOT_DONE.has(mark);
/** The marks read as "not done": what the warning for an unknown one lists. */
export const KNOWN_MARKS = [...NOT_DONE, ...DONE].map((m) => `[${m}]`).join(', ');

/** A tab counts as four columns, so mixed indentation still orders nesting sensibly. */
export function indentWidth(indent: string): number {
  let width = 0;
  for (const ch of indent) width += ch === '\t' ? 4 : 1;
  return width;
}

/** CommonMark's HTML block of kind 2: a line opening `<!--` (up to three spaces in), to the line holding `-->`. */
const COMMENT_START = /^ {0,3}<!--/;
const FENCE_OPEN = /^[ \t]*(`{3,}|~{3,})/;

/**
 * The lines (0-based) of HTML comment blocks, which never render, so their boxes are no tasks;
 * code blocks are skipped, as a `<!--` in one is code. `unclosedAt`: a comment that runs to the end.
 */
export function htmlCommentLines(lines: readonly string[]): { hidden: Set<number>; unclosedAt?: number } {
  const hidden = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE_OPEN.exec(lines[i] ?? '')?.[1];
    if (fence) {
      while (++i < lines.length && !(lines[i] ?? '').trim().startsWith(fence));
      continue;
    }
    if (!COMMENT_START.test(lines[i] ?? '')) continue;
    const start = i;
    for (; i < lines.length; i++) {
      hidden.add(i);
      if ((lines[i] ?? '').includes('-->', i === start ? (lines[i] ?? '').indexOf('<!--') + 4 : 0)) break;
    }
    if (i === lines.length) return { hidden, unclosedAt: start };
  }
  return { hidden };
}
