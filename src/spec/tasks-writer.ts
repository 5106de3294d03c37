import { readCheckbox, splitBom } from './checkbox-line.ts';

/**
 * Ticks task `id`'s checkbox and changes nothing else: one byte (` `, `~` or `-` becomes `x`),
 * not the line endings, not other lines. Looks at the recorded line first and searches the file
 * if a numbered task has moved since parsing (an unnumbered one is known only by its line).
 */
export function tickTask(text: string, id: string, lineHint?: number): string {
  // A byte-order mark (Windows editors write one) stays where it is, ahead of the first line.
  const { bom, body } = splitBom(text);
  const lines = body.split(/(?<=\n)/);
  const boxAt = (i: number) => readCheckbox((lines[i] ?? '').replace(/\r?\n$/, ''));
  const matches = (i: number) => {
    const box = boxAt(i);
    return box !== undefined && (box.number ?? `L${i + 1}`) === id;
  };
  let index = lineHint !== undefined && matches(lineHint - 1) ? lineHint - 1 : -1;
  if (index < 0 && !id.startsWith('L')) index = lines.findIndex((_, i) => matches(i));
  if (index < 0) return text;
  const box = boxAt(index)!;
  if (box.mark === 'x' || box.mark === 'X') return text;
  const line = lines[index]!;
  lines[index] = `${line.slice(0, box.boxIndex)}x${line.slice(box.boxIndex + 1)}`;
  return bom + lines.join('');
}
