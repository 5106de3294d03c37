/**
 * One checkbox line of a task list, every line GitHub renders as a task list item:
 * `- [ ] 1. Title`, `* [x] 1.1 Title`, `- [X] Title` (no number), `- [~] 2 Title`, `- [-] 3. Title`,
 * `- [ ]* 2.2 Title` (Kiro: optional), `- [ ] T012 [P] Title` (Spec Kit: an id and the parallel
 * marker), and in ordered lists, `1. [ ] Title` and `2) [ ] 2.1 Title` (the list item's own number
 * is not the task's: people write `1.` for every item and let the renderer count).
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
const LINE = new RegExp(
  String.raw`^([ \t]*)${MARKER}\[([^\]\n])\](\*?)[ \t]+(?:(\d+[a-z]?(?:\.\d+[a-z]?)*|T\d+)(?:\.|:|\))?[ \t]+)?(\[P\][ \t]+)?(\S.*)$`,
);
/**
 * Something that tries to be a checkbox but is not one we can read (`- [xx] 1.`, `- []`, a box
 * with no title): named in a warning. A link (`- [Docs](https://...)`, `- [Docs][ref]`) is not a box.
 */
const LOOKS_LIKE = new RegExp(String.raw`^[ \t]*${MARKER}\[[^\]]{0,2}\](?![(\[:])`);
const DONE = new Set(['x', 'X']);
/** Boxes spec tools write for "not done yet": empty, queued/in progress, cancelled-or-pending. */
const NOT_DONE = new Set([' ', '~', '-', '/', '>']);

export function readCheckbox(line: string): CheckboxLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, indent = '', mark = ' ', star, number, parallel, title = ''] = m;
  return {
    indent: indentWidth(indent),
    mark,
    unknownMark: !DONE.has(mark) && !NOT_DONE.has(mark),
    optional: star === '*',
    parallel: parallel !== undefined,
    ...(number !== undefined ? { number } : {}),
    title: title.trim(),
    boxIndex: line.indexOf('[') + 1,
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
