import { InputError } from '../errors.ts';
import type { SuccessCriterion } from './success-criterion.ts';
import {
  htmlCommentLines,
  indentWidth,
  isDoneMark,
  KNOWN_MARKS,
  looksLikeCheckbox,
  readCheckbox,
  splitBom,
} from './checkbox-line.ts';
import { dependsFromWaves, readWaves, type DependencyWaves } from './dependency-waves.ts';
import { DEPENDS_CONNECTORS, NO_DEPENDENCIES, readField } from './field-names.ts';
import { parseRequirementRefs } from './requirement-refs.ts';
import { DEPENDABLE_ID, SITE_NAME, repeatedId, type TaskSpec } from './task-spec.ts';

const BULLET = /^([ \t]+)[-*+] (.*)$/;
const FENCE = /^([ \t]*)(`{3,}|~{3,})\s*([\w-]*)[^`]*$/;
const SHELL_LANGUAGES = new Set(['bash', 'sh', 'shell', 'zsh']);
const HEREDOC = /<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
const MAX_DEPTH = 6;

/** A task while its file is read: where it sits, its Spec Kit `[P]` marker, its number as written. */
type Draft = TaskSpec & { indent: number; parallel: boolean; section: number; number?: string; dependsLine?: number };
type Fail = (line: number, message: string) => never;

/** Something read in a way the writer may not have meant: the line and what it was taken as. */
export type ParseWarning = { line: number; message: string };

/** The tasks of a tasks.md (see `parseTaskList`). */
export function parseTasks(text: string, file = 'tasks.md'): TaskSpec[] {
  return parseTaskList(text, file).tasks;
}

/**
 * Parses a tasks.md in the dialects of people and spec-driven tools (see docs/tasks-format.md).
 * Every checkbox line outside a code block is exactly one task, or a warning says why not; other
 * lines are left alone (the writer only ever touches a box character). What can be read safely is
 * read, with a warning where it was ambiguous (a box of unknown meaning, a number used twice); only
 * what cannot be run safely (an ambiguous or unknown `Depends:`, a cycle, an unclosed block) is an
 * InputError naming file:line; nothing else is thrown.
 */
export function parseTaskList(text: string, file = 'tasks.md'): { tasks: TaskSpec[]; warnings: ParseWarning[] } {
  if (text.includes('\u0000'))
    throw new InputError('binary content (NUL byte); expected a markdown task list', { file });
  const lines = splitBom(text).body.split(/\r?\n/);
  const tasks: Draft[] = [];
  const byId = new Map<string, Draft>();
  /** Every task by its number as written: a number used twice is ambiguous in a `Depends:`. */
  const byNumber = new Map<string, Draft[]>();
  const warnings: ParseWarning[] = [];
  const warn = (line: number, message: string) => warnings.push({ line, message });
  const fail: Fail = (line, message) => {
    throw new InputError(message, { file, line });
  };
  let waves: DependencyWaves | undefined;
  /** Open tasks by indentation: the nearest shallower one is a new task's parent. */
  const open: Draft[] = [];

  const comments = htmlCommentLines(lines);
  let current: Draft | undefined;
  /** Counts the headings and notes between tasks: a `[P]` group does not reach across one. */
  let section = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;

    // An HTML comment block never renders: its boxes are no tasks, and it leaves the task open.
    if (comments.hidden.has(i)) {
      if (comments.unclosedAt === i)
        warn(lineNo, 'an HTML comment opened here is never closed (no `-->`): nothing after it is read');
      continue;
    }

    const fence = FENCE.exec(raw);
    if (fence) {
      const end = findFenceEnd(lines, i, fence[2]!);
      if (end < 0) fail(lineNo, `code block opened here is never closed (expected a line with ${fence[2]})`);
      const indent = indentWidth(fence[1]!);
      const language = (fence[3] ?? '').toLowerCase();
      const body = lines.slice(i + 1, end).map((l) => stripIndent(l, fence[1]!.length));
      if (current && indent > current.indent) {
        if (SHELL_LANGUAGES.has(language))
          current.commands.push(...splitCommands(body, (offset, message) => fail(i + 2 + offset, message)));
      } else {
        current = undefined;
        const found = language === 'json' || language === '' ? readWaves(body.join('\n')) : undefined;
        if (found instanceof Error) fail(lineNo, found.message);
        if (found) {
          if (waves) fail(lineNo, `a second dependency waves block (the first is at line ${waves.line})`);
          waves = { line: lineNo, waves: found };
        }
      }
      i = end;
      continue;
    }

    const box = readCheckbox(raw);
    if (box) {
      while (open.length && open[open.length - 1]!.indent >= box.indent) open.pop();
      const { number } = box;
      const earlier = number !== undefined ? (byNumber.get(number) ?? []) : [];
      const id = number === undefined ? `L${lineNo}` : earlier.length ? repeatedId(number, lineNo) : number;
      if (earlier.length)
        warn(
          lineNo,
          `task number ${number} is used again (first at line ${earlier[0]!.line}): read as ${id}; a Depends: naming ${number} is ambiguous`,
        );
      if (box.unknownMark)
        warn(
          lineNo,
          `box [${box.mark}] is not one of ${KNOWN_MARKS}: read as done, so it is not run (write [ ] to run it)`,
        );
      const parentId = parentOf(number, open[open.length - 1], byNumber);
      const depth = depthOf(parentId, byId) + 1;
      if (depth > MAX_DEPTH) fail(lineNo, `task ${id} is nested deeper than ${MAX_DEPTH} levels`);
      current = {
        id,
        title: box.title,
        done: isDoneMark(box.mark),
        optional: box.optional,
        line: lineNo,
        description: [],
        requirements: [],
        success: [],
        criteria: [],
        commands: [],
        indent: box.indent,
        parallel: box.parallel,
        section,
        ...(number !== undefined ? { number } : {}),
        ...(parentId !== undefined ? { parentId } : {}),
      };
      tasks.push(current);
      byId.set(id, current);
      if (number !== undefined) byNumber.set(number, [...earlier, current]);
      open.push(current);
      continue;
    }
    if (looksLikeCheckbox(raw)) {
      warn(
        lineNo,
        `not read as a task: \`${raw.trim().slice(0, 60)}\` looks like a checkbox, but a box holds one character ([ ] or [x]) and is followed by a title`,
      );
    }
    if (!current) {
      if (raw.trim() !== '') section++;
      continue;
    }

    const bullet = BULLET.exec(raw);
    if (bullet && indentWidth(bullet[1]!) > current.indent) {
      readBullet(current, (bullet[2] ?? '').trim(), lineNo, fail);
      continue;
    }
    if (raw.trim() === '') continue;
    if (indentWidth(/^[ \t]*/.exec(raw)![0]) > current.indent) {
      // Prose under a task (not a bullet) describes it too.
      current.description.push(raw.trim());
      continue;
    }
    // A line as shallow as the task that is not a task (a heading, a note) closes it.
    current = undefined;
    open.length = 0;
    section++;
  }

  if (waves) applyWaves(tasks, byId, byNumber, waves, fail);
  resolveDepends(tasks, byNumber, fail);
  applyParallelGroups(tasks);
  checkStructure(tasks, file);
  return {
    tasks: tasks.map(
      ({ indent: _indent, parallel: _parallel, section: _section, number: _number, dependsLine: _line, ...task }) =>
        task,
    ),
    warnings,
  };
}

/** Why naming `number` is ambiguous, when two tasks carry it. */
function ambiguity(number: string, byNumber: Map<string, Draft[]>): string | undefined {
  const carriers = byNumber.get(number) ?? [];
  if (carriers.length < 2) return undefined;
  return `${number} is ambiguous: the tasks at lines ${carriers.map((t) => t.line).join(' and ')} are all numbered ${number}; name one as ${carriers.map((t) => t.id).join(' or ')}`;
}

/** A `Depends:` names numbers as written: each must name one task. */
function resolveDepends(tasks: Draft[], byNumber: Map<string, Draft[]>, fail: Fail) {
  for (const task of tasks) {
    for (const dep of task.depends ?? []) {
      const why = ambiguity(dep, byNumber);
      if (why) fail(task.dependsLine ?? task.line, `task ${task.id}: Depends: ${why}`);
    }
  }
}

/**
 * `2.1` belongs to task 2 when there is one; otherwise (no number, or no such task) to the
 * nearest shallower open task, if any: people nest by indentation, tools by number.
 */
function parentOf(
  number: string | undefined,
  enclosing: Draft | undefined,
  byNumber: Map<string, Draft[]>,
): string | undefined {
  const dot = number?.lastIndexOf('.') ?? -1;
  // The latest task of that number: numbering that restarts under each phase nests under its own phase's task.
  const parent = dot > 0 ? byNumber.get(number!.slice(0, dot))?.at(-1) : undefined;
  return parent?.id ?? enclosing?.id;
}

function depthOf(id: string | undefined, byId: Map<string, Draft>): number {
  let depth = 0;
  for (let p = id; p !== undefined; p = byId.get(p)?.parentId) depth++;
  return depth;
}

function applyWaves(
  tasks: Draft[],
  byId: Map<string, Draft>,
  byNumber: Map<string, Draft[]>,
  waves: DependencyWaves,
  fail: Fail,
) {
  for (const id of waves.waves.flat()) {
    const why = ambiguity(id, byNumber);
    if (why) fail(waves.line, `dependency waves: ${why}`);
    if (!byId.has(id)) fail(waves.line, `dependency waves name task ${id}, which is not in the file`);
  }
  const implied = dependsFromWaves(waves.waves, tasks);
  for (const task of tasks) {
    const depends = implied.get(task.id);
    // An explicit `Depends:` bullet is more specific than the waves.
    if (depends && task.depends === undefined) task.depends = depends;
  }
}

/**
 * Spec Kit's `[P]`: consecutive `[P]` siblings, with no heading or note between them, form a
 * group that runs side by side. A group waits for the step before it (a task or a group), and
 * the step after it waits for the whole group. A `Depends:` of a task's own, or from waves, wins.
 * Only what differs from "follows the previous sibling" is written as `depends`.
 */
function applyParallelGroups(tasks: Draft[]) {
  const siblings = new Map<string | undefined, Draft[]>();
  for (const t of tasks) {
    const list = siblings.get(t.parentId) ?? [];
    list.push(t);
    siblings.set(t.parentId, list);
  }
  for (const list of siblings.values()) {
    if (!list.some((t) => t.parallel)) continue;
    const steps: Draft[][] = [];
    for (const t of list) {
      const last = steps.at(-1)?.at(-1);
      if (last && t.parallel && last.parallel && last.section === t.section) steps.at(-1)!.push(t);
      else steps.push([t]);
    }
    steps.forEach((step, k) => {
      const before = k > 0 ? steps[k - 1]!.map((t) => t.id) : [];
      step.forEach((t, i) => {
        if (t.depends === undefined && (i > 0 || before.length > 1)) t.depends = before;
      });
    });
  }
}

function readBullet(task: Draft, text: string, lineNo: number, fail: Fail) {
  // Spec-driven tools write `_Requirements: 1.1, 2.3_` and `**Validates: Requirements 1.2**`;
  // the underscores and asterisks are emphasis only.
  const unwrapped = text.replace(/^(\*\*|__|_|\*)(.*)\1$/, '$2').trim();
  const found = readField(unwrapped);
  if (!found) {
    task.description.push(text);
    return;
  }
  const { field, value } = found;
  if (field === 'requirements' || field === 'validates') {
    task.requirements.push(...parseRequirementRefs(value).filter((r) => !task.requirements.includes(r)));
    if (field === 'validates') task.description.push(text);
  } else if (field === 'depends') {
    // People write `Depends: 1.1, 1.2`, `Depends on: tasks 1.1 and 1.2`, `Depends: 2 & 3`, `Blocked by: Task 1`.
    const ids = NO_DEPENDENCIES.test(value)
      ? []
      : value
          // \u3001 \u3002 \uff0c: the ideographic comma, full stop and fullwidth comma.
          .split(/[,;\s\u3001\uff0c]+/)
          .map((s) => s.trim().replace(/[.\u3002]$/, ''))
          .filter((s) => s !== '' && !DEPENDS_CONNECTORS.test(s));
    for (const id of ids) {
      if (!DEPENDABLE_ID.test(id)) fail(lineNo, `Depends: "${id}" is not a task number`);
    }
    task.depends = [...(task.depends ?? []), ...ids];
    task.dependsLine = lineNo;
  } else if (field === 'site') {
    if (!SITE_NAME.test(value)) fail(lineNo, `Site: "${value}" is not a site name (letters, digits, _ and -)`);
    task.site = value;
  } else if (field === 'needs') {
    const labels = value.split(/[,\s]+/).filter((l) => l !== '');
    task.needs = [...new Set([...(task.needs ?? []), ...labels])];
  } else {
    for (const part of splitOutsideBackticks(value, ';')) {
      const criterion = parseCriterion(part);
      if (criterion) task.success.push(criterion);
      else {
        // Words: for the planner to turn into a check; a command in backticks in them is one already.
        task.criteria.push(part);
        task.success.push(...commandsIn(part).map((command) => ({ kind: 'command' as const, command, exitCode: 0 })));
      }
    }
  }
}

/** Backticked spans of prose that read as commands (a program and its arguments), not as a file or a name. */
function commandsIn(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.trim()).filter((c) => /^[\w./-]+\s+\S/.test(c));
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

/**
 * The machine forms of a success criterion: `file PATH exists`, `` `cmd` exits N ``,
 * `` `cmd` outputs TEXT `` (and exits N), `` `cmd` ``; undefined for anything else (a criterion in words).
 */
export function parseCriterion(text: string): SuccessCriterion | undefined {
  const file = /^file\s+`?([^`\s]+)`?\s+exists$/i.exec(text);
  if (file) return { kind: 'file_exists', path: file[1]! };
  const exits = /^`([^`]+)`\s+exits\s+(\d+)$/i.exec(text);
  if (exits) return { kind: 'command', command: exits[1]!, exitCode: Number(exits[2]) };
  const outputs = outputCriterion(text);
  if (outputs) return outputs;
  const bare = /^`([^`]+)`$/.exec(text);
  if (bare) return { kind: 'command', command: bare[1]!, exitCode: 0 };
  return undefined;
}

/**
 * `` `cmd` outputs TEXT `` (the command must also exit 0), `` `cmd` outputs TEXT and exits N `` or
 * `` `cmd` exits N and outputs TEXT `` (it must exit N).
 */
function outputCriterion(text: string): SuccessCriterion | undefined {
  const verb = '(?:outputs|prints|contains)';
  const exitsFirst = new RegExp(`^\`([^\`]+)\`\\s+exits\\s+(\\d+)\\s+and\\s+${verb}\\s+(.+)$`, 'i').exec(text);
  const exitsLast = new RegExp(`^\`([^\`]+)\`\\s+${verb}\\s+(.+?)\\s+and\\s+exits\\s+(\\d+)$`, 'i').exec(text);
  const plain = new RegExp(`^\`([^\`]+)\`\\s+${verb}\\s+(.+)$`, 'i').exec(text);
  const [command, printed, code] = exitsFirst
    ? [exitsFirst[1]!, exitsFirst[3]!, exitsFirst[2]!]
    : exitsLast
      ? [exitsLast[1]!, exitsLast[2]!, exitsLast[3]!]
      : plain
        ? [plain[1]!, plain[2]!, '0']
        : [];
  if (command === undefined) return undefined;
  const unquoted = printed!.replace(/^["'`](.*)["'`]$/, '$1');
  return { kind: 'output_contains', command, text: unquoted, exitCode: Number(code) };
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

function checkStructure(tasks: Draft[], file: string) {
  const byId = new Map<string, Draft>();
  for (const task of tasks) byId.set(task.id, task);
  for (const task of tasks) {
    for (const dep of task.depends ?? []) {
      if (!byId.has(dep))
        throw new InputError(`task ${task.id} depends on ${dep}, which is not in the file`, { file, line: task.line });
      if (dep === task.id) throw new InputError(`task ${task.id} depends on itself`, { file, line: task.line });
      if (isAncestor(task.id, dep, byId)) {
        throw new InputError(`task ${task.id} depends on its own subtask ${dep}, which runs after it`, {
          file,
          line: task.line,
        });
      }
    }
  }
  const cycle = findCycle(tasks);
  if (cycle) {
    const first = byId.get(cycle[0]!)!;
    throw new InputError(`dependency cycle: ${cycle.join(' -> ')}`, { file, line: first.line });
  }
}

function isAncestor(ancestor: string, id: string, byId: Map<string, Draft>): boolean {
  for (let p = byId.get(id)?.parentId; p !== undefined; p = byId.get(p)?.parentId) if (p === ancestor) return true;
  return false;
}

/** A cycle among the `Depends:`, as the ids along it; walked with a stack of its own, so a 100,000-task chain is fine. */
function findCycle(tasks: Draft[]): string[] | undefined {
  const deps = new Map(tasks.map((t) => [t.id, t.depends ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  for (const t of tasks) {
    if (state.has(t.id)) continue;
    // The path from t, each with the index of its next dependency to look at.
    const path: { id: string; next: number }[] = [{ id: t.id, next: 0 }];
    state.set(t.id, 'visiting');
    while (path.length > 0) {
      const top = path.at(-1)!;
      const dep = deps.get(top.id)?.[top.next++];
      if (dep === undefined) {
        state.set(top.id, 'done');
        path.pop();
      } else if (state.get(dep) === 'visiting') {
        return [...path.slice(path.findIndex((p) => p.id === dep)).map((p) => p.id), dep];
      } else if (!state.has(dep)) {
        state.set(dep, 'visiting');
        path.push({ id: dep, next: 0 });
      }
    }
  }
  return undefined;
}
