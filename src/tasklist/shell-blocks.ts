const HEREDOC = /<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/** The line closing the code block opened at `start` with `marker`, or -1. */
export function findFenceEnd(lines: string[], start: number, marker: string): number {
  for (let j = start + 1; j < lines.length; j++) {
    if ((lines[j] ?? '').trim() === marker) return j;
  }
  return -1;
}

/** `line` without up to `width` characters of leading indentation. */
export function stripIndent(line: string, width: number): string {
  let n = 0;
  while (n < width && (line[n] === ' ' || line[n] === '\t')) n++;
  return line.slice(n);
}

/**
 * A block written as a terminal session, every command after a `$ ` prompt: the prompts are not
 * part of the commands (`$ npm test` would run a program named `$`).
 */
function withoutPrompts(lines: string[]): string[] {
  // Where each command starts: not a blank line, a comment, or the continuation of a `\` line.
  const starts = lines.map(
    (l, i) => l.trim() !== '' && !l.trim().startsWith('#') && !(lines[i - 1] ?? '').endsWith('\\'),
  );
  if (!starts.includes(true) || lines.some((l, i) => starts[i] && !l.startsWith('$ '))) return lines;
  return lines.map((l, i) => (starts[i] ? l.slice(2) : l));
}

/**
 * One command per line; a trailing backslash continues it; a heredoc runs to its terminator.
 * Blank lines and whole-line comments are dropped.
 */
export function splitCommands(lines: string[], fail: (offset: number, message: string) => never): string[] {
  const body = withoutPrompts(lines);
  const commands: string[] = [];
  for (let k = 0; k < body.length; k++) {
    let command = body[k] ?? '';
    const first = k;
    if (command.trim() === '' || command.trim().startsWith('#')) continue;
    while (command.endsWith('\\') && k + 1 < body.length) {
      command = `${command}\n${body[++k] ?? ''}`;
    }
    for (const doc of [...command.matchAll(HEREDOC)]) {
      const terminator = doc[3]!;
      const stripTabs = doc[1] === '-';
      let closed = false;
      while (k + 1 < body.length) {
        const next = body[++k] ?? '';
        command += `\n${next}`;
        if ((stripTabs ? next.replace(/^\t+/, '') : next).trim() === terminator) {
          closed = true;
          break;
        }
      }
      if (!closed) fail(first, `heredoc <<${terminator} is never terminated`);
    }
    commands.push(command.trim());
  }
  return commands;
}
