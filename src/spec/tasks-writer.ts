import { CHECKBOX_LINE } from './tasks-parser.ts';

/**
 * Ticks task `id`'s checkbox and changes nothing else: not the line endings, not other lines.
 * Looks at the recorded line first and searches the file if the task has moved since parsing.
 */
export function tickTask(text: string, id: string, lineHint?: number): string {
  const lines = text.split(/(?<=\n)/);
  const matches = (i: number) => CHECKBOX_LINE.exec((lines[i] ?? '').replace(/\r?\n$/, ''))?.[3] === id;
  let index = lineHint !== undefined && matches(lineHint - 1) ? lineHint - 1 : -1;
  if (index < 0) index = lines.findIndex((_, i) => matches(i));
  if (index < 0) return text;
  lines[index] = lines[index]!.replace(/\[ \]/, '[x]');
  return lines.join('');
}
