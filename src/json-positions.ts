/** Where things are in a JSON text, for errors that name a line and column (a config file's). */

export type Position = { line: number; column: number };

/** The 1-based line and column of character `offset` of `text`. */
export function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** The position JSON.parse's message names ("... at position 42", or "line 3 column 5" on newer engines). */
export function syntaxErrorPosition(text: string, message: string): Position | undefined {
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const at = /at position (\d+)/.exec(message);
  if (at) return positionAt(text, Number(at[1]));
  // "Unexpected end of JSON input": the end.
  return /end of (?:JSON )?input/i.test(message) ? positionAt(text, text.length) : undefined;
}

/**
 * The offset of the value at each path of a valid JSON text (paths joined by "/"): a key's value,
 * an array's element. A scanner, not a parser: the text has parsed once already.
 */
export function valueOffsets(text: string): Map<string, number> {
  const offsets = new Map<string, number>();
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const readString = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  // An explicit stack, so a deeply nested file cannot overflow the call stack.
  type Frame = { kind: '{' | '['; path: string; index: number };
  const stack: Frame[] = [];
  const value = (path: string) => {
    skipSpace();
    offsets.set(path, i);
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      stack.push({ kind: ch, path, index: 0 });
      i++;
    } else if (ch === '"') readString();
    else while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  value('');
  while (stack.length) {
    skipSpace();
    const top = stack[stack.length - 1]!;
    const ch = text[i];
    if (ch === '}' || ch === ']') {
      stack.pop();
      i++;
    } else if (ch === ',') i++;
    else if (top.kind === '{') {
      const key = readString();
      skipSpace();
      i++; // the colon
      value(`${top.path}/${key}`);
    } else value(`${top.path}/${top.index++}`);
    if (i >= text.length) break;
  }
  return offsets;
}

/** The position of the value at `path` (zod's issue path), when the text has it. */
export function locate(text: string, offsets: Map<string, number>, path: readonly PropertyKey[]): Position | undefined {
  const offset = offsets.get(path.map((p) => `/${String(p)}`).join(''));
  return offset === undefined ? undefined : positionAt(text, offset);
}
