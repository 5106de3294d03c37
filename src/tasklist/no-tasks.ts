import { htmlCommentLines } from './checkbox-line.ts';

const LIST_ITEM = /^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\S/;
const BOX_IN_CODE = /^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[[ xX]\]/;
const FENCE = /^[ \t]*(`{3,}|~{3,})/;

/**
 * Why a task list with no task in it is probably not what its author meant: the likeliest
 * mistake, from what the file holds instead (list items without boxes, boxes in a code block or
 * an HTML comment, nothing at all).
 */
export function whyNoTasks(text: string): string {
  if (text.trim() === '') return 'the file is empty';
  const lines = text.split(/\r?\n/);
  const { hidden } = htmlCommentLines(lines);
  let items = 0;
  let boxesInCode = 0;
  let fence: string | undefined;
  lines.forEach((line, i) => {
    const opens = FENCE.exec(line)?.[1];
    if (fence) {
      if (line.trim().startsWith(fence)) fence = undefined;
      else if (BOX_IN_CODE.test(line)) boxesInCode++;
    } else if (opens) fence = opens;
    else if (hidden.has(i)) boxesInCode += BOX_IN_CODE.test(line) ? 1 : 0;
    else if (LIST_ITEM.test(line)) items++;
  });
  if (boxesInCode > 0)
    return `its ${boxesInCode} checkbox line(s) are inside a code block or an HTML comment, where they are not tasks`;
  if (items > 0) return `its ${items} list item(s) have no checkbox: a task is a line like \`- [ ] 1. Title\``;
  return 'a task is a checkbox line like `- [ ] 1. Title`; is this the requirements or design file rather than the task list?';
}
