import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { blockersOf } from '../../src/tasklist/task-graph.ts';
import { parseRequirementRefs } from '../../src/tasklist/requirement-refs.ts';
import { parseTaskList, parseTasks } from '../../src/tasklist/tasks-parser.ts';
import { taskLabel } from '../../src/tasklist/task-spec.ts';
import { tickTask, untickTask } from '../../src/tasklist/tasks-writer.ts';
import { whyNoTasks } from '../../src/tasklist/no-tasks.ts';
import { compressContext } from '../../src/context/compress.ts';
import { REPO_ROOT } from '../helpers/nats.ts';

const fixture = (name: string) => readFileSync(`${REPO_ROOT}/test/fixtures/dialects/${name}`, 'utf8');

describe('tasks.md dialects', () => {
  it('reads a Kiro task list: one-space indentation, phases, optional and in-progress boxes, waves', () => {
    const tasks = parseTasks(fixture('kiro-waves.md'), 'kiro-waves.md');
    const byId = new Map(tasks.map((t) => [t.id, t]));
    expect(tasks.map((t) => t.id)).toEqual(['1', '2', '2.1', '2.2', '2.3', '3', '4', '4.1', '4.2']);
    expect(byId.get('1')!.done).toBe(true);
    expect(byId.get('2.1')!.done).toBe(false);
    expect(byId.get('2.3')!.done).toBe(false);
    expect(byId.get('2.2')!.optional).toBe(true);
    expect(byId.get('2.1')!.optional).toBe(false);
    expect(byId.get('2.1')!.requirements).toEqual(['1.1', '1.2', '1.3', '2.1', '2.2', '2.3', '2.4']);
    expect(byId.get('1')!.requirements).toEqual(['Architecture foundation']);
    expect(byId.get('2.3')!.requirements).toEqual(['3.1 (descope? ask product)', 'All']);
    expect(byId.get('2.2')!.requirements).toEqual(['1.2']);
    expect(byId.get('2.1')!.description).toContain(
      '_Prompt: Role: backend developer | Task: implement the reader | Success: rows parse_',
    );
    expect(byId.get('3')!.title).toBe('Checkpoint - Ensure all tests pass');
    // Waves: wave 0 waits for nothing, wave 1 for wave 0, wave 2 for wave 1; headings of listed
    // subtasks wait for nothing; the checkpoint (not listed) follows its previous sibling.
    expect(byId.get('2.1')!.depends).toEqual([]);
    expect(byId.get('4.1')!.depends).toEqual([]);
    expect(byId.get('2.2')!.depends).toEqual(['2.1', '4.1']);
    expect(byId.get('4.2')!.depends).toEqual(['2.2', '2.3']);
    expect(byId.get('2')!.depends).toEqual([]);
    expect(byId.get('4')!.depends).toEqual([]);
    expect(byId.get('3')!.depends).toBeUndefined();
    expect(blockersOf(byId.get('3')!, tasks)).toEqual([{ id: '2', need: 'full' }]);
  });

  it('reads a Spec Kit task list: T ids, [P] groups that run side by side within a phase, story labels, `Depends:` on ids', () => {
    const text = fixture('spec-kit.md');
    const tasks = parseTasks(text, 'spec-kit.md');
    const byId = new Map(tasks.map((t) => [t.id, t]));
    expect(tasks.map((t) => t.id)).toEqual(['T001', 'T002', 'T003', 'T004', 'T005', 'T006', 'T007', 'T008', 'T009']);
    expect(byId.get('T001')!.done).toBe(true);
    expect(byId.get('T002')!.title).toBe('Initialise the package with `npm init` and the test runner');
    expect(byId.get('T004')!.title).toBe(
      '[US1] Contract test for `POST /recipes` in `tests/contract/recipes-post.test.js`',
    );
    const waitsFor = (id: string) => blockersOf(byId.get(id)!, tasks).map((b) => b.id);
    // T002 and T003 run side by side after T001; the next phase's group waits for both; the task
    // after a group waits for the whole group; a group does not reach across a heading.
    expect(waitsFor('T002')).toEqual(['T001']);
    expect(waitsFor('T003')).toEqual(['T001']);
    expect(waitsFor('T004')).toEqual(['T002', 'T003']);
    expect(waitsFor('T005')).toEqual(['T002', 'T003']);
    expect(waitsFor('T006')).toEqual(['T004', 'T005']);
    expect(waitsFor('T007')).toEqual(['T006']);
    // A `Depends:` of the task's own wins over the order; a lone [P] task follows its previous sibling.
    expect(waitsFor('T008')).toEqual(['T007', 'T003']);
    expect(waitsFor('T009')).toEqual(['T008']);
    expect([taskLabel('T004', 'Contract test'), taskLabel('2.1', 'Reader'), taskLabel('L9', 'Publish')]).toEqual([
      'T004 Contract test',
      '2.1. Reader',
      'L9 Publish',
    ]);
    // The prose Dependencies section and the parallel example are not tasks, and are left alone.
    const ticked = tickTask(text, 'T005', byId.get('T005')!.line);
    expect(diffPositions(text, ticked)).toHaveLength(1);
    expect(ticked.split('\n')[byId.get('T005')!.line - 1]).toBe(
      '- [x] T005 [P] [US1] Contract test for `GET /recipes/:id` in `tests/contract/recipes-get.test.js`',
    );
  });

  it("reads a person's checklist: no numbers, `*` bullets, nesting by indentation, code blocks ignored", () => {
    const text = fixture('human-checklist.md');
    const tasks = parseTasks(text, 'human-checklist.md');
    expect(tasks.map((t) => [t.id, t.title, t.parentId, t.done])).toEqual([
      ['L9', 'Write the changelog', undefined, false],
      ['L11', 'Bump the version', undefined, true],
      ['L12', 'Publish', undefined, false],
      ['L13', 'Build the tarball', 'L12', false],
      ['L14', 'Upload it', 'L12', false],
      ['L17', 'an ordered-list item with a box is a task too (GitHub renders it as one)', undefined, false],
    ]);
    expect(tasks[0]!.description).toEqual(['Explain the breaking change to `config.timeout` in plain words.']);
    const ticked = tickTask(text, 'L13', 13);
    expect(ticked.split('\n')[12]).toBe('    * [x] Build the tarball');
    expect(diffPositions(text, ticked)).toHaveLength(1);
  });

  it('reads numbers written `1:` and `2)`, tab indentation and an sh block', () => {
    const tasks = parseTasks(fixture('spec-numbered.md'));
    expect(tasks.map((t) => [t.id, t.parentId])).toEqual([
      ['1', undefined],
      ['2', undefined],
      ['2.1', '2'],
    ]);
    expect(tasks[0]!.requirements).toEqual(['1.1', '1.2']);
    expect(tasks[1]!.commands).toEqual(['mkdir -p src', "echo 'module.exports = {}' > src/session.js"]);
    expect(tasks[1]!.depends).toEqual(['1']);
  });

  /** Every checkbox line outside code blocks: what a list must come back with, one task each. */
  const checkboxLines = (text: string) => {
    let inFence = false;
    return text.split('\n').flatMap((l, i) => {
      if (/^\s*```/.test(l)) inFence = !inFence;
      return !inFence && /^\s*(?:[-*+]|\d{1,9}[.)])(?: {1,4}|\t)\[[^\]]\]\S*\s+\S/.test(l) ? [i + 1] : [];
    });
  };

  it('reads checkboxes in ordered lists: parents `1. [ ] Title`, numbered children `1. [ ] 2.1`, bullet children under ordered parents', () => {
    const text = fixture('ordered-lists.md');
    const { tasks, warnings } = parseTaskList(text, 'ordered-lists.md');
    expect(tasks.map((t) => t.line)).toEqual(checkboxLines(text));
    expect(warnings).toEqual([]);
    expect(tasks.map((t) => [t.id, t.parentId, t.done])).toEqual([
      ['L3', undefined, false],
      ['1.1', 'L3', false],
      ['1.2', 'L3', true],
      ['L7', undefined, false],
      ['2.1', 'L7', false],
      ['L13', undefined, false],
      ['L14', 'L13', false],
      ['L15', 'L13', false],
      ['L16', undefined, true],
      ['L17', 'L16', false],
      ['L18', undefined, false],
    ]);
    const ticked = tickTask(text, 'L7', 7);
    expect(diffPositions(text, ticked)).toHaveLength(1);
    expect(ticked.split('\n')[6]).toBe('2. [x] Implement core');
  });

  it('reads a list as people write it: links and an unknown box are not refusals, a number used twice gets its own id, prose criteria are criteria', () => {
    const text = fixture('mixed-real-world.md');
    const { tasks, warnings } = parseTaskList(text, 'mixed-real-world.md');
    const byId = new Map(tasks.map((t) => [t.id, t]));
    expect(tasks.map((t) => t.line)).toEqual(checkboxLines(text));
    expect(tasks.map((t) => t.id)).toEqual(['1', '1.1', '2', '3', '14a', 'T1', '4.1', '4.2', '4.1@L25', '5.2', '6']);
    expect(warnings.map((w) => w.line)).toEqual([13, 25]);
    expect(warnings[0]!.message).toMatch(/box \[A\] .* read as done, so it is not run/);
    expect(warnings[1]!.message).toMatch(/task number 4.1 is used again \(first at line 20\): read as 4.1@L25/);
    expect(byId.get('3')!.done).toBe(true);
    // A parent ticked over an unticked child: the child still runs.
    expect([byId.get('1')!.done, byId.get('1.1')!.done]).toEqual([true, false]);
    expect(byId.get('2')!.depends).toEqual(['1']);
    expect(byId.get('14a')!.depends).toEqual(['2']);
    expect(byId.get('2')!.criteria).toEqual(['All text renders, image loads in < 1s']);
    expect(byId.get('2')!.success).toEqual([{ kind: 'command', command: 'node scripts/check-import.js', exitCode: 0 }]);
    expect(byId.get('5.2')!.success).toEqual([{ kind: 'command', command: 'npm run export -- --check', exitCode: 0 }]);
    expect(byId.get('5.2')!.criteria[0]).toBe('the export matches the sample in `docs/sample.csv`');
    // The second 4.1 is ticked on its own line.
    const ticked = tickTask(text, '4.1@L25', 25);
    expect(diffPositions(text, ticked)).toHaveLength(1);
    expect(ticked.split('\n')[24]).toMatch(/^- \[x\] 4\.1 Render the summary/);
  });

  it('reads numbering that restarts under each phase, and Spec Kit ids used twice, each as its own task', () => {
    const phases = parseTaskList(fixture('phases-restart.md'));
    expect(phases.tasks.map((t) => [t.id, t.parentId])).toEqual([
      ['1', undefined],
      ['2', undefined],
      ['1@L10', undefined],
      ['1.1', '1@L10'],
      ['1.2', '1@L10'],
      ['2@L13', undefined],
    ]);
    expect(phases.warnings).toHaveLength(2);
    const kit = parseTaskList(fixture('spec-kit-duplicate.md'));
    expect(kit.tasks.map((t) => t.id)).toEqual(['T085', 'T086', 'T086@L7', 'T087']);
    expect(blockersOf(kit.tasks[2]!, kit.tasks).map((b) => b.id)).toEqual(['T085', 'T086']);
    // Naming the number twice used is the one thing refused, with both lines.
    expect(() =>
      parseTasks(`${fixture('spec-kit-duplicate.md')}- [ ] T088 Release\n  - Depends: T086\n`, 'k.md'),
    ).toThrow(
      /k\.md:10: task T088: Depends: T086 is ambiguous: the tasks at lines 6 and 7 are all numbered T086; name one as T086 or T086@L7/,
    );
    expect(
      parseTasks(`${fixture('spec-kit-duplicate.md')}- [ ] T088 Release\n  - Depends: T086@L7\n`).at(-1)!.depends,
    ).toEqual(['T086@L7']);
  });

  it('reads field names in Spanish, Portuguese, Chinese, Japanese, Arabic and German', () => {
    const tasks = parseTasks(fixture('translated.md'));
    expect(tasks.map((t) => [t.id, t.requirements, t.depends])).toEqual([
      ['1', ['1.1', '1.2'], undefined],
      ['2', ['2.1'], ['1']],
      ['3', ['3.1', '3.2'], ['2']],
      ['4', ['4.1'], ['3']],
      ['5', ['5.1'], ['4']],
      ['6', ['6.1'], ['5']],
    ]);
    expect(tasks.every((t) => t.description.length === 0)).toBe(true);
  });

  it('ticks `[~]` and `[-]` boxes by changing the one box byte', () => {
    const text = fixture('kiro-waves.md');
    for (const [id, from] of [
      ['2.1', '[~]'],
      ['2.3', '[-]'],
      ['2.2', '[ ]*'],
    ] as const) {
      const line = parseTasks(text).find((t) => t.id === id)!.line;
      const ticked = tickTask(text, id, line);
      expect(diffPositions(text, ticked)).toHaveLength(1);
      expect(ticked.split('\n')[line - 1]).toContain(from.replace(/\[.\]/, '[x]'));
    }
  });

  it('reads the shapes formatters and people write: an escaped optional star, spaced boxes, `[x]!`, boxes in an HTML comment, a `[P]` note', () => {
    const text = fixture('formatter-shapes.md');
    const { tasks, warnings } = parseTaskList(text, 'formatter-shapes.md');
    const byId = new Map(tasks.map((t) => [t.id, t]));
    // The commented-out plan's tasks 1 and 2 are not read; the `[P]` note is neither a task nor a warning.
    expect(tasks.map((t) => [t.id, t.line])).toEqual([
      ['1', 8],
      ['2', 10],
      ['3', 12],
      ['4', 13],
      ['5', 16],
      ['6', 21],
    ]);
    expect(warnings).toEqual([]);
    expect(byId.get('2')).toMatchObject({ optional: true, done: false, title: 'Add optional property tests' });
    expect(byId.get('3')).toMatchObject({ done: true, title: 'Write the parser' });
    // A comment inside a task neither closes it nor describes it.
    expect(byId.get('4')).toMatchObject({ done: false, requirements: ['2.1'] });
    expect(byId.get('5')).toMatchObject({ done: true, title: 'Ship the release notes' });
    // Ticking writes one byte, in the box of the task and not in the comment's box of the same number.
    const lines = (t: string) => t.split('\n');
    expect(lines(tickTask(text, '4'))[12]).toBe('- [ x ] 4. Write the printer');
    expect(lines(tickTask(text, '2'))[9]).toBe('- [x]\\* 2. Add optional property tests');
    expect(lines(tickTask(text, '2'))[4]).toBe(lines(text)[4]);
    expect(lines(untickTask(text, '3'))[11]).toBe('- [   ] 3. Write the parser');
    expect(parseTasks(tickTask(text, '4')).find((t) => t.id === '4')!.done).toBe(true);
  });

  it('names the likely mistake of a list with no task in it', () => {
    expect(whyNoTasks('\n')).toBe('the file is empty');
    expect(whyNoTasks('- 1. A\n* 2. B\n')).toMatch(/^its 2 list item\(s\) have no checkbox/);
    expect(whyNoTasks('```\n- [ ] 1. A\n```\n<!--\n- [x] 2. B\n-->\n')).toMatch(
      /^its 2 checkbox line\(s\) are inside a code block or an HTML comment/,
    );
    expect(whyNoTasks('# Requirements\n\nThe system shall...\n')).toMatch(/requirements or design file/);
  });

  it('warns about an HTML comment that is never closed, and reads nothing after it', () => {
    const { tasks, warnings } = parseTaskList('- [ ] 1. First\n<!-- draft\n- [ ] 2. Second\n');
    expect(tasks.map((t) => t.id)).toEqual(['1']);
    expect(warnings).toEqual([{ line: 2, message: expect.stringContaining('never closed') }]);
  });

  it('plans context for free-text requirement references without compiling them into a pattern', () => {
    const [task] = parseTasks(
      '- [ ] 1. Normalise SKUs\n  - _Requirements: 3.1 (descope? ask product), [x, 4.1-4.3, a+b*_',
    );
    const context = compressContext(
      task!,
      { requirements: '## Requirement 4\n4.2 THE system SHALL sync.\n## Notes\n[x means' },
      [],
      500,
    );
    expect(context.text).toContain('4.2 THE system SHALL sync.');
  });

  it('expands requirement ranges within one major and keeps everything else as text', () => {
    expect(parseRequirementRefs('4.1-4.5')).toEqual(['4.1', '4.2', '4.3', '4.4', '4.5']);
    expect(parseRequirementRefs('2.1–2.4')).toEqual(['2.1', '2.2', '2.3', '2.4']);
    expect(parseRequirementRefs('1.1–6.3 (all)')).toEqual(['1.1–6.3 (all)']);
    expect(parseRequirementRefs('Requirements 1.2, 3')).toEqual(['1.2', '3']);
    expect(parseRequirementRefs('1.1 1.2; All')).toEqual(['1.1', '1.2', 'All']);
  });
});

/** Generated task lists: the three promises hold for any mix of dialects. */
describe('tasks.md parsing, property-based', () => {
  const box = fc.constantFrom('[ ]', '[x]', '[X]', '[~]', '[-]', '[ ]*', '[A]', '[!]');
  // Every list marker GitHub renders a task list item after: bullets, and ordered items `1.` / `1)`.
  const bullet = fc.constantFrom('*', '-', '+', '1.', '2.', '10.', '1)', '3)');
  // Not a number or a Spec Kit id of its own (the label says which it has).
  const title = fc
    .stringMatching(/^[A-Za-z`(][ -~]{0,30}$/)
    .filter((t) => !/^(?:\d|T\d|\[P\])/.test(t) && t.trim() === t);
  const noise = fc.constantFrom(
    '',
    '## Phase 2',
    'Some notes (with [brackets] and regex chars .*+?)',
    '  - a bullet',
    '---',
    '> quote',
    '_Requirements: (x_',
  );
  // Numbered (`3. `), unnumbered, Spec Kit (`T003 `, perhaps `[P] `), or a number used before
  // (restarting per phase, a copy-paste); one to four spaces or a tab after the bullet.
  const numbering = fc.constantFrom('none', 'number', 'spec-kit', 'spec-kit-parallel', 'repeated');
  const gap = fc.constantFrom(' ', '  ', '    ', '\t');
  const entry = fc.record({
    indent: fc.constantFrom('', ' ', '  ', '    ', '\t'),
    bullet,
    gap,
    box,
    numbering,
    title,
    noise,
  });
  const list = fc.array(entry, { minLength: 1, maxLength: 25 });

  type Entry = {
    indent: string;
    bullet: string;
    gap: string;
    box: string;
    numbering: string;
    title: string;
    noise: string;
  };
  const label = (numbering: string, k: number) =>
    ({
      none: '',
      number: `${k + 1}. `,
      'spec-kit': `T${String(k + 1).padStart(3, '0')} `,
      'spec-kit-parallel': `T${String(k + 1).padStart(3, '0')} [P] `,
      repeated: '1. ',
    })[numbering] ?? '';
  const render = (entries: Entry[]) => {
    const lines: string[] = [];
    const checkboxLines: number[] = [];
    entries.forEach((e, k) => {
      checkboxLines.push(lines.length + 1);
      lines.push(`${e.indent}${e.bullet}${e.gap}${e.box} ${label(e.numbering, k)}${e.title}`);
      if (e.noise) lines.push(e.noise);
    });
    return { text: lines.join('\n'), checkboxLines };
  };

  it('reads every line GitHub renders as a task list item, ordered or not, as exactly one task, refusing none', () => {
    fc.assert(
      fc.property(list, (entries) => {
        const { text, checkboxLines } = render(entries);
        const { tasks } = parseTaskList(text, 'gen.md');
        expect(tasks.map((t) => t.line)).toEqual(checkboxLines);
        expect(new Set(tasks.map((t) => t.id)).size).toBe(tasks.length);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but an InputError on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.constantFrom(
              '- [ ] 1. A',
              '- [ ]* 2 B',
              '```json',
              '```',
              '{"waves": [',
              '- [x] 1.1 C',
              '  - Depends: 1',
            ),
          ),
          { maxLength: 30 },
        ),
        (parts) => {
          try {
            parseTasks(parts.join('\n'), 'gen.md');
          } catch (error) {
            expect(error).toBeInstanceOf(InputError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('ticking changes only the box byte of the task it ticks', () => {
    fc.assert(
      fc.property(list, fc.nat(), (entries, pick) => {
        const { text } = render(entries);
        // No generated list is refused (the property above): a refusal fails this test too.
        const tasks = parseTasks(text, 'gen.md');
        const task = tasks[pick % tasks.length]!;
        const ticked = tickTask(text, task.id, task.line);
        const diff = diffPositions(text, ticked);
        expect(ticked.length).toBe(text.length);
        if (task.done) expect(diff).toEqual([]);
        else {
          expect(diff).toHaveLength(1);
          expect(ticked[diff[0]!]).toBe('x');
          expect(text[diff[0]! - 1]).toBe('[');
        }
      }),
      { numRuns: 300 },
    );
  });
});

function diffPositions(a: string, b: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) out.push(i);
  return out;
}
