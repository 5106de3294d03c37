import { InputError } from '../errors.ts';
import type { SuccessCriterion } from '../plan/plan-schema.ts';
import type { TaskSpec } from './task-spec.ts';

/** `- [ ] 2. Title` (or `* [x] 1.1 Title`), indented for subtasks. */
export const CHECKBOX_LINE = /^(\s*)[-*] \[([ xX])\] (\d+(?:\.\d+)*)\.?\s+(\S.*)$/;
const LOOKS_LIKE_CHECKBOX = /^\s*[-*] \[[^\]]*\]/;
const BULLET = /^(\s+)[-*] (.*)$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)\s*$/;
const SHELL_LANGUAGES = new Set(['bash', 'sh', 'shell', 'zsh']);
const HEREDOC = /<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
const MAX_DEPTH = 6;

type Draft = TaskSpec & { indent: number };

/**
 * Parses a tasks.md (see DESIGN.md). Lines that are not tasks, task bullets or command blocks
 * are left alone: the writer only ever touches checkbox characters. Every error names file:line.
 */
export function parseTasks(text: string, file = 'tasks.md'): TaskSpec[] {
  if (text.includes('\u0000')) throw new InputError('binary content (NUL byte); expected a markdown task list', { file });
  const lines = text.split(/\r?\n/);
  const tasks: Draft[] = [];
  const fail = (line: number, message: string): never => {
    throw new InputError(message, { file, line });
  };

  let current: Draft | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;
    const box = CHECKBOX_LINE.exec(raw);
    if (box) {
      const [, indent = '', mark, id = '', title = ''] = box;
      if (id.split('.').length > MAX_DEPTH) fail(lineNo, `task ${id} is nested deeper than ${MAX_DEPTH} levels`);
      const parentId = id.includes('.') ? id.slice(0, id.lastIndexOf('.')) : undefined;
      current = {
        id,
        title: title.trim(),
        done: mark !== ' ',
        line: lineNo,
        description: [],
        requirements: [],
        success: [],
        commands: [],
        indent: indent.length,
        ...(parentId !== undefined ? { parentId } : {}),
      };
      tasks.push(current);
      continue;
    }
    if (LOOKS_LIKE_CHECKBOX.test(raw)) {
      fail(lineNo, 'malformed task line: expected `- [ ] N. Title` (a space or x in the box, then a task number)');
    }
    if (!current) continue;

    const fence = FENCE.exec(raw);
    if (fence && fence[1]!.length > current.indent) {
      const end = findFenceEnd(lines, i, fence[2]!);
      if (end < 0) fail(lineNo, `code block opened here is never closed (expected a line with ${fence[2]})`);
      const language = (fence[3] ?? '').toLowerCase();
      if (SHELL_LANGUAGES.has(language)) {
        const body = lines.slice(i + 1, end).map((l) => stripIndent(l, fence[1]!.length));
        current.commands.push(...splitCommands(body, (offset, message) => fail(i + 2 + offset, message)));
      }
      i = end;
      continue;
    }

    const bullet = BULLET.exec(raw);
    if (bullet && bullet[1]!.length > current.indent) {
      readBullet(current, (bullet[2] ?? '').trim(), lineNo, fail);
      continue;
    }
    if (raw.trim() === '') continue;
    // An unindented line that is not a task closes the current task; the line itself is kept.
    if (!/^\s/.test(raw)) current = undefined;
  }

  checkStructure(tasks, file);
  return tasks.map(({ indent: _indent, ...task }) => task);
}

function readBullet(task: Draft, text: string, lineNo: number, fail: (line: number, message: string) => never) {
  // Spec-driven tools write `_Requirements: 1.1, 2.3_`; the underscores are emphasis only.
  const unwrapped = text.replace(/^_(.*)_$/, '$1').trim();
  const field = /^(Requirements|Depends(?: on)?|Success):\s*(.*)$/i.exec(unwrapped);
  if (!field) {
    task.description.push(text);
    return;
  }
  const name = field[1]!.toLowerCase();
  const value = (field[2] ?? '').trim();
  if (name === 'requirements') {
    task.requirements.push(...splitList(value));
  } else if (name.startsWith('depends')) {
    const ids = splitList(value);
    for (const id of ids) {
      if (!/^\d+(\.\d+)*$/.test(id)) fail(lineNo, `Depends: "${id}" is not a task number`);
    }
    task.depends = [...(task.depends ?? []), ...ids];
  } else {
    for (const part of splitOutsideBackticks(value, ';')) {
      task.success.push(parseCriterion(part, (message) => fail(lineNo, message)));
    }
  }
}

function splitList(value: string): string[] {
  return value
    .split(/[,\s]+/)
    .map((s) => s.trim().replace(/\.$/, ''))
    .filter(Boolean);
}

function splitOutsideBackticks(value: string, separator: string): string[] {
  const parts: string[] = [];
  let inTicks = false;
  let part = '';
  for (const ch of value) {
    if (ch === '`') inTicks = !inTicks;
    if (ch === separator && !inTicks) {
      parts.push(part);
      part = '';
    } else {
      part += ch;
    }
  }
  parts.push(part);
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** Success criteria: `file PATH exists`, `` `cmd` exits N ``, `` `cmd` outputs TEXT ``, `` `cmd` ``. */
export function parseCriterion(text: string, fail: (message: string) => never): SuccessCriterion {
  const file = /^file\s+`?([^`\s]+)`?\s+exists$/i.exec(text);
  if (file) return { kind: 'file_exists', path: file[1]! };
  const exits = /^`([^`]+)`\s+exits\s+(\d+)$/i.exec(text);
  if (exits) return { kind: 'command', command: exits[1]!, exitCode: Number(exits[2]) };
  const outputs = /^`([^`]+)`\s+(?:outputs|prints|contains)\s+(.+)$/i.exec(text);
  if (outputs) return { kind: 'output_contains', command: outputs[1]!, text: outputs[2]!.replace(/^["'`](.*)["'`]$/, '$1') };
  const bare = /^`([^`]+)`$/.exec(text);
  if (bare) return { kind: 'command', command: bare[1]!, exitCode: 0 };
  return fail(
    `unrecognised success criterion "${text}": use \`file PATH exists\`, \`\\\`cmd\\\` exits N\` or \`\\\`cmd\\\` outputs TEXT\``,
  );
}

function findFenceEnd(lines: string[], start: number, marker: string): number {
  for (let j = start + 1; j < lines.length; j++) {
    if ((lines[j] ?? '').trim() === marker) return j;
  }
  return -1;
}

function stripIndent(line: string, width: number): string {
  let n = 0;
  while (n < width && (line[n] === ' ' || line[n] === '\t')) n++;
  return line.slice(n);
}

/**
 * One command per line; a trailing backslash continues it; a heredoc runs to its terminator.
 * Blank lines and whole-line comments are dropped.
 */
export function splitCommands(body: string[], fail: (offset: number, message: string) => never): string[] {
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

function checkStructure(tasks: Draft[], file: string) {
  const byId = new Map<string, Draft>();
  for (const task of tasks) {
    const twin = byId.get(task.id);
    if (twin) throw new InputError(`duplicate task number ${task.id} (first at line ${twin.line})`, { file, line: task.line });
    if (task.parentId !== undefined && !byId.has(task.parentId)) {
      throw new InputError(`subtask ${task.id} has no parent task ${task.parentId} above it`, { file, line: task.line });
    }
    byId.set(task.id, task);
  }
  for (const task of tasks) {
    for (const dep of task.depends ?? []) {
      if (!byId.has(dep)) throw new InputError(`task ${task.id} depends on ${dep}, which is not in the file`, { file, line: task.line });
      if (dep === task.id) throw new InputError(`task ${task.id} depends on itself`, { file, line: task.line });
      if (dep.startsWith(`${task.id}.`)) {
        throw new InputError(`task ${task.id} depends on its own subtask ${dep}, which runs after it`, { file, line: task.line });
      }
    }
  }
  const cycle = findCycle(tasks);
  if (cycle) {
    const first = byId.get(cycle[0]!)!;
    throw new InputError(`dependency cycle: ${cycle.join(' -> ')}`, { file, line: first.line });
  }
}

function findCycle(tasks: Draft[]): string[] | undefined {
  const deps = new Map(tasks.map((t) => [t.id, t.depends ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const dep of deps.get(id) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const t of tasks) {
    const cycle = visit(t.id);
    if (cycle) return cycle;
  }
  return undefined;
}
