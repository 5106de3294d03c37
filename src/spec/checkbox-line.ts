/**
 * One checkbox line of a task list, in every dialect we accept:
 * `- [ ] 1. Title`, `* [x] 1.1 Title`, `- [X] Title` (no number), `- [~] 2 Title`, `- [-] 3. Title`,
 * `- [ ]* 2.2 Title` (Kiro: optional), `- [ ] T012 [P] Title` (Spec Kit: an id and the parallel
 * marker), `1. [ ] Title` is not a checkbox (ordered lists are prose).
 * The box character is at `boxIndex`: the writer changes that one byte and nothing else.
 */
export type CheckboxLine = {
  indent: number;
  mark: string;
  /** `[ ]*`: the spec tool marks the task optional (tests, polish). */
  optional: boolean;
  /** The task number (`2.1`) or Spec Kit id (`T012`) as written, when there is one. */
  number?: string;
  /** `[P]` after the id (Spec Kit): may run beside the `[P]` tasks next to it. */
  parallel: boolean;
  title: string;
  boxIndex: number;
};

// GitHub's task lists: the bullet, one to four spaces or a tab, then the box.
const LINE = /^([ \t]*)[-*+](?: {1,4}|\t)\[([^\]\n])\](\*?)[ \t]+(?:(\d+(?:\.\d+)*|T\d+)(?:\.|:|\))?[ \t]+)?(\[P\][ \t]+)?(\S.*)$/;
/** Something that tries to be a checkbox but is not one we can read: `- [xx] 1.`, `- []`. */
const LOOKS_LIKE = /^[ \t]*[-*+](?: {1,4}|\t)\[[^\]]*\]/;
const DONE = new Set(['x', 'X']);
/** Boxes spec tools write for "not done yet": empty, queued/in progress, cancelled-or-pending. */
const NOT_DONE = new Set([' ', '~', '-', '/', '>']);

export function readCheckbox(line: string): CheckboxLine | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, indent = '', mark = ' ', star, number, parallel, title = ''] = m;
  if (!DONE.has(mark) && !NOT_DONE.has(mark)) return undefined;
  return {
    indent: indentWidth(indent),
    mark,
    optional: star === '*',
    parallel: parallel !== undefined,
    ...(number !== undefined ? { number } : {}),
    title: title.trim(),
    boxIndex: line.indexOf('[') + 1,
  };
}

const BOM = '\uFEFF';
/** A file's byte-order mark (Windows editors write one), if any, and the text after it: the mark is not part of the first line. */
export const splitBom = (text: string): { bom: string; body: string } => (text.startsWith(BOM) ? { bom: BOM, body: text.slice(BOM.length) } : { bom: '', body: text });

export const looksLikeCheckbox = (line: string) => LOOKS_LIKE.test(line);
export const isDoneMark = (mark: string) => DONE.has(mark);

/** A tab counts as four columns, so mixed indentation still orders nesting sensibly. */
export function indentWidth(indent: string): number {
  let width = 0;
  for (const ch of indent) width += ch === '\t' ? 4 : 1;
  return width;
}
