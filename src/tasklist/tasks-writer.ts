import { htmlCommentLines, isDoneMark, readCheckbox, splitBom, type CheckboxLine } from './checkbox-line.ts';
import { repeatedId } from './task-spec.ts';

/** Whether the checkbox on line `line` (1-based) is task `id`'s: `L<line>` unnumbered, else its number, or its number at that line when it was used twice. */
export function isTaskBox(box: CheckboxLine, line: number, id: string): boolean {
  return box.number === undefined ? id === `L${line}` : id === box.number || id === repeatedId(box.number, line);
}

/**
 * Ticks task `id`'s checkbox and changes nothing else: one byte (` `, `~` or `-` becomes `x`),
 * not the line endings, not other lines. Looks at the recorded line first and searches the file
 * if a numbered task has moved since parsing (an unnumbered one is known only by its line).
 */
export const tickTask = (text: string, id: string, lineHint?: number): string => markTask(text, id, lineHint, 'x');

/** Unticks task `id`'s checkbox (`revert`): its one byte back to ` `, nothing else. */
export const untickTask = (text: string, id: string, lineHint?: number): string => markTask(text, id, lineHint, ' ');

function markTask(text: string, id: string, lineHint: number | undefined, mark: 'x' | ' '): string {
  // A byte-order mark (Windows editors write one) stays where it is, ahead of the first line.
  const { bom, body } = splitBom(text);
  const lines = body.split(/(?<=\n)/);
  const boxAt = (i: number) => readCheckbox((lines[i] ?? '').replace(/\r?\n$/, ''));
  const matches = (i: number) => {
    const box = boxAt(i);
    return box !== undefined && isTaskBox(box, i + 1, id);
  };
  let index = lineHint !== undefined && matches(lineHint - 1) ? lineHint - 1 : -1;
  // Ids with a line in them (`L12`, `4.1@L57`) name that line only; a box in a comment is no task's.
  if (index < 0 && !id.includes('L')) {
    const { hidden } = htmlCommentLines(lines);
    index = lines.findIndex((_, i) => !hidden.has(i) && matches(i));
  }
  if (index < 0) return text;
  const box = boxAt(index)!;
  if (isDoneMark(box.mark) === (mark === 'x')) return text;
  const line = lines[index]!;
  lines[index] = `${line.slice(0, box.boxIndex)}${mark}${line.slice(box.boxIndex + 1)}`;
  return bom + lines.join('');
}
