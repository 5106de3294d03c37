import { InputError } from '../errors.ts';
import {
  htmlCommentLines,
  indentWidth,
  isDoneMark,
  KNOWN_MARKS,
  looksLikeCheckbox,
  readCheckbox,
  type CheckboxLine,
  splitBom,
} from './checkbox-line.ts';
import { readWaves, type DependencyWaves } from './dependency-waves.ts';
import { findFenceEnd, splitCommands, stripIndent } from './shell-blocks.ts';
import { readBullet, type Draft, type Fail } from './task-draft.ts';
import { applyParallelGroups, applyWaves, checkStructure, depthOf, parentOf, resolveDepends } from './task-links.ts';
import { repeatedId, type TaskSpec } from './task-spec.ts';

export { parseCriterion } from './task-draft.ts';

const BULLET = /^([ \t]+)[-*+] (.*)$/;
const FENCE = /^([ \t]*)(`{3,}|~{3,})\s*([\w-]*)[^`]*$/;
const SHELL_LANGUAGES = new Set(['bash', 'sh', 'shell', 'zsh']);
const MAX_DEPTH = 6;

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
  const reader = new TaskListReader(splitBom(text).body.split(/\r?\n/), file);
  const { tasks, byId, byNumber, waves, fail } = reader.read();
  if (waves) applyWaves(tasks, byId, byNumber, waves, fail);
  resolveDepends(tasks, byNumber, fail);
  applyParallelGroups(tasks);
  checkStructure(tasks, file);
  return {
    tasks: tasks.map(
      ({ indent: _indent, parallel: _parallel, section: _section, number: _number, dependsLine: _line, ...task }) =>
        task,
    ),
    warnings: reader.warnings,
  };
}

/** Reads a task list's lines in one pass: its tasks as drafts, its dependency waves, and warnings. */
class TaskListReader {
  readonly tasks: Draft[] = [];
  readonly byId = new Map<string, Draft>();
  /** Every task by its number as written: a number used twice is ambiguous in a `Depends:`. */
  readonly byNumber = new Map<string, Draft[]>();
  readonly warnings: ParseWarning[] = [];
  waves: DependencyWaves | undefined;
  /** Open tasks by indentation: the nearest shallower one is a new task's parent. */
  private readonly open: Draft[] = [];
  /** The task whose lines are being read, if any. */
  private current: Draft | undefined;
  /** Counts the headings and notes between tasks: a `[P]` group does not reach across one. */
  private section = 0;

  constructor(
    private readonly lines: string[],
    private readonly file: string,
  ) {}

  readonly fail: Fail = (line, message) => {
    throw new InputError(message, { file: this.file, line });
  };

  private warn(line: number, message: string): void {
    this.warnings.push({ line, message });
  }

  read(): this {
    const comments = htmlCommentLines(this.lines);
    for (let i = 0; i < this.lines.length; i++) {
      const raw = this.lines[i] ?? '';
      // An HTML comment block never renders: its boxes are no tasks, and it leaves the task open.
      if (comments.hidden.has(i)) {
        if (comments.unclosedAt === i)
          this.warn(i + 1, 'an HTML comment opened here is never closed (no `-->`): nothing after it is read');
        continue;
      }
      const fence = FENCE.exec(raw);
      if (fence) {
        i = this.readFence(fence, i);
        continue;
      }
      const box = readCheckbox(raw);
      if (box) this.readBox(box, i + 1);
      else this.readLine(raw, i + 1);
    }
    return this;
  }

  /** A code block: a shell block under a task holds its commands; one elsewhere may hold the dependency waves. Returns its last line. */
  private readFence(fence: RegExpExecArray, i: number): number {
    const lineNo = i + 1;
    const end = findFenceEnd(this.lines, i, fence[2]!);
    if (end < 0) this.fail(lineNo, `code block opened here is never closed (expected a line with ${fence[2]})`);
    const indent = indentWidth(fence[1]!);
    const language = (fence[3] ?? '').toLowerCase();
    const body = this.lines.slice(i + 1, end).map((l) => stripIndent(l, fence[1]!.length));
    if (this.current && indent > this.current.indent) {
      if (SHELL_LANGUAGES.has(language))
        this.current.commands.push(...splitCommands(body, (offset, message) => this.fail(i + 2 + offset, message)));
      return end;
    }
    this.current = undefined;
    const found = language === 'json' || language === '' ? readWaves(body.join('\n')) : undefined;
    if (found instanceof Error) this.fail(lineNo, found.message);
    if (found) {
      if (this.waves) this.fail(lineNo, `a second dependency waves block (the first is at line ${this.waves.line})`);
      this.waves = { line: lineNo, waves: found };
    }
    return end;
  }

  /** A checkbox line: a new task, nested under the open task it belongs to. */
  private readBox(box: CheckboxLine, lineNo: number): void {
    const open = this.open;
    while (open.length && open[open.length - 1]!.indent >= box.indent) open.pop();
    const { number } = box;
    const earlier = number !== undefined ? (this.byNumber.get(number) ?? []) : [];
    const id = number === undefined ? `L${lineNo}` : earlier.length ? repeatedId(number, lineNo) : number;
    if (earlier.length)
      this.warn(
        lineNo,
        `task number ${number} is used again (first at line ${earlier[0]!.line}): read as ${id}; a Depends: naming ${number} is ambiguous`,
      );
    if (box.unknownMark)
      this.warn(
        lineNo,
        `box [${box.mark}] is not one of ${KNOWN_MARKS}: read as done, so it is not run (write [ ] to run it)`,
      );
    const parentId = parentOf(number, open[open.length - 1], this.byNumber);
    if (depthOf(parentId, this.byId) + 1 > MAX_DEPTH)
      this.fail(lineNo, `task ${id} is nested deeper than ${MAX_DEPTH} levels`);
    const task: Draft = {
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
      section: this.section,
      ...(number !== undefined ? { number } : {}),
      ...(parentId !== undefined ? { parentId } : {}),
    };
    this.tasks.push(task);
    this.byId.set(id, task);
    if (number !== undefined) this.byNumber.set(number, [...earlier, task]);
    open.push(task);
    this.current = task;
  }

  /** Any other line: a bullet or prose under the open task, or a heading or note that closes it. */
  private readLine(raw: string, lineNo: number): void {
    if (looksLikeCheckbox(raw))
      this.warn(
        lineNo,
        `not read as a task: \`${raw.trim().slice(0, 60)}\` looks like a checkbox, but a box holds one character ([ ] or [x]) and is followed by a title`,
      );
    const current = this.current;
    if (!current) {
      if (raw.trim() !== '') this.section++;
      return;
    }
    const bullet = BULLET.exec(raw);
    if (bullet && indentWidth(bullet[1]!) > current.indent)
      return readBullet(current, (bullet[2] ?? '').trim(), lineNo, this.fail);
    if (raw.trim() === '') return;
    if (indentWidth(/^[ \t]*/.exec(raw)![0]) > current.indent) {
      // Prose under a task (not a bullet) describes it too.
      current.description.push(raw.trim());
      return;
    }
    // A line as shallow as the task that is not a task (a heading, a note) closes it.
    this.current = undefined;
    this.open.length = 0;
    this.section++;
  }
}
