import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { parseCriterion, parseTasks } from '../../src/tasklist/tasks-parser.ts';
import { criterionFailure } from '../../src/tasklist/success-criterion.ts';
import { tickTask } from '../../src/tasklist/tasks-writer.ts';
import { REPO_ROOT } from '../helpers/nats.ts';

const example = readFileSync(`${REPO_ROOT}/examples/greeter/tasks.md`, 'utf8');

function parseError(text: string): InputError {
  try {
    parseTasks(text, 'bad.md');
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected a parse error');
}

describe('parseTasks', () => {
  it('reads tasks, fields, success criteria and command blocks', () => {
    const tasks = parseTasks(example);
    expect(tasks.map((t) => t.id)).toEqual(['1', '2', '3', '4', '5']);
    const [one, two, three, , five] = tasks;
    expect(one!.requirements).toEqual(['1.1']);
    expect(one!.commands).toHaveLength(2);
    expect(one!.description).toEqual(['Create the package and the source folder']);
    expect(two!.success).toEqual([
      { kind: 'file_exists', path: 'src/greet.js' },
      { kind: 'command', command: `node -e "require('./src/greet.js')"`, exitCode: 0 },
    ]);
    expect(two!.commands[0]).toMatch(/^cat > src\/greet.js <<'JS'\n[\s\S]*\nJS$/);
    expect(three!.depends).toEqual(['2']);
    expect(three!.success).toEqual([
      { kind: 'output_contains', command: 'node src/cli.js Ada', text: 'Hello, Ada!', exitCode: 0 },
    ]);
    expect(five!.depends).toEqual(['3', '4']);
    expect(two!.depends).toBeUndefined();
  });

  it('reads an output criterion as needing exit 0, unless it names another code', () => {
    expect(parseCriterion('`python3 -m textstats` outputs words: 3')).toEqual({
      kind: 'output_contains',
      command: 'python3 -m textstats',
      text: 'words: 3',
      exitCode: 0,
    });
    expect(parseCriterion('`grep -q x y` outputs "No such file" and exits 2')).toEqual({
      kind: 'output_contains',
      command: 'grep -q x y',
      text: 'No such file',
      exitCode: 2,
    });
    expect(parseCriterion('`./lint` exits 1 and prints warning')).toEqual({
      kind: 'output_contains',
      command: './lint',
      text: 'warning',
      exitCode: 1,
    });
  });

  it('fails an output criterion whose command printed the text and crashed', async () => {
    const crashed = { exitCode: 1, output: '/usr/bin/python3: No module named textstats' };
    const probe = (got: typeof crashed) => ({ run: async () => got, exists: async () => false });
    const criterion = parseCriterion('`python3 -m textstats` outputs textstats')!;
    expect(await criterionFailure(criterion, probe(crashed))).toBe(
      '`python3 -m textstats` printed "textstats" but exited 1, expected 0',
    );
    expect(await criterionFailure(criterion, probe({ exitCode: 0, output: 'textstats 1.0' }))).toBeUndefined();
    const named = parseCriterion('`python3 -m textstats` outputs No module and exits 1')!;
    expect(await criterionFailure(named, probe(crashed))).toBeUndefined();
  });

  it('drops the `$ ` prompts of a block written as a terminal session, and only there', () => {
    const commands = (block: string) => parseTasks(`- [ ] 1. T\n  \`\`\`bash\n${block}\n  \`\`\`\n`)[0]!.commands;
    expect(commands('  $ npm ci\n  # then\n  $ docker run \\\n    --rm app')).toEqual([
      'npm ci',
      'docker run \\\n  --rm app',
    ]);
    expect(commands('  $ echo a\n  echo $HOME')).toEqual(['$ echo a', 'echo $HOME']);
    expect(commands('  echo "$ 5"')).toEqual(['echo "$ 5"']);
  });

  it('reads a box after one to four spaces or a tab, as GitHub does, and ticks it there', () => {
    const text = '-  [ ] 1. Two spaces\n-\t[ ] 2. A tab\n- [ ]  3. Two after the box\n';
    expect(parseTasks(text).map((t) => [t.id, t.title])).toEqual([
      ['1', 'Two spaces'],
      ['2', 'A tab'],
      ['3', 'Two after the box'],
    ]);
    expect(tickTask(text, '2', 2)).toBe('-  [ ] 1. Two spaces\n-\t[x] 2. A tab\n- [ ]  3. Two after the box\n');
  });

  it('reads a file that starts with a byte-order mark, and ticks it keeping the mark', () => {
    const text = '\uFEFF- [ ] 1. First\r\n- [ ] 2. Second\r\n';
    expect(parseTasks(text).map((t) => [t.id, t.line])).toEqual([
      ['1', 1],
      ['2', 2],
    ]);
    expect(tickTask(text, '1', 1)).toBe('\uFEFF- [x] 1. First\r\n- [ ] 2. Second\r\n');
  });

  it('reads `Depends:` as people write it: commas, `and`, `&`, the word task', () => {
    const list = (depends: string) => parseTasks(`- [ ] 1. A\n- [ ] 2. B\n- [ ] 3. C\n  - ${depends}\n`)[2]!.depends;
    expect(list('Depends: 1, 2')).toEqual(['1', '2']);
    expect(list('Depends on: tasks 1 and 2.')).toEqual(['1', '2']);
    expect(list('_Depends: Task 1 & 2_')).toEqual(['1', '2']);
    expect(list('Depends: none')).toEqual([]);
  });

  it('reads subtasks, done boxes, continuation lines and spec-tool requirement bullets', () => {
    const tasks = parseTasks(
      [
        '- [x] 1. Parent',
        '  - [ ] 1.1 Child one',
        '    - _Requirements: 2.1, 2.2_',
        '    ```sh',
        '    echo a \\',
        '      b',
        '    # a comment',
        '',
        '    echo c',
        '    ```',
        '  - [ ] 1.2. Child two',
        'Some trailing prose.',
      ].join('\n'),
    );
    expect(tasks.map((t) => [t.id, t.parentId, t.done])).toEqual([
      ['1', undefined, true],
      ['1.1', '1', false],
      ['1.2', '1', false],
    ]);
    expect(tasks[1]!.requirements).toEqual(['2.1', '2.2']);
    expect(tasks[1]!.commands).toEqual(['echo a \\\n  b', 'echo c']);
  });

  it.each([
    [
      '- [ ] 1. A\n- [ ] 1. B\n- [ ] 2. C\n  - Depends: 1',
      4,
      /task 2: Depends: 1 is ambiguous: the tasks at lines 1 and 2 are all numbered 1; name one as 1 or 1@L2/,
    ],
    ['- [ ] 1. A\n  - Depends: 7', 1, /depends on 7, which is not in the file/],
    ['- [ ] 1. A\n  - Depends: 2\n- [ ] 2. B\n  - Depends: 1', 1, /dependency cycle: 1 -> 2 -> 1/],
    ['- [ ] 1. A\n  ```bash\n  echo hi\n', 2, /never closed/],
    ['- [ ] 1. A\n  ```bash\n  cat <<EOF\n  x\n  ```', 3, /heredoc <<EOF is never terminated/],
    [
      '- [ ] 1. A\n- [ ] 1. B\n\n```json\n{"waves": [{"id": 0, "tasks": ["1"]}]}\n```',
      4,
      /dependency waves: 1 is ambiguous/,
    ],
    ['- [ ] 1. A\n\n```json\n{"waves": [{"id": 0, "tasks": ["9"]}]}\n```', 3, /waves name task 9/],
    ['- [ ] 1. A\n\n```json\n{"waves": [{"id": 0, "tasks": ["1"]},]}\n```', 3, /waves block is not valid JSON/],
    ['- [ ] 1. A\n  - Depends: x', 2, /"x" is not a task number/],
    ['- [ ] 1. A\n  - Depends: 1.1\n  - [ ] 1.1 B', 1, /its own subtask 1.1/],
  ])('reports %j at its line', (text, line, message) => {
    const error = parseError(text);
    expect(error.where).toEqual({ file: 'bad.md', line });
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`bad.md:${line}: `)).toBe(true);
  });

  it('refuses binary content', () => {
    expect(parseError('- [ ] 1. A\u0000').message).toMatch(/binary/);
  });

  it('keeps shell metacharacters in titles as text', () => {
    const [task] = parseTasks('- [ ] 1. Remove `rm -rf /` $(whoami) && echo pwned');
    expect(task!.title).toBe('Remove `rm -rf /` $(whoami) && echo pwned');
    expect(task!.commands).toEqual([]);
  });
});

describe('tickTask', () => {
  it('rewrites only the checkbox, keeping every other byte', () => {
    const text = '# Plan\r\n- [ ] 1. A [ ] literal\r\n  - [ ] 1.1 B\r\n- [ ] 2. C\r\n';
    const ticked = tickTask(text, '1.1', 3);
    expect(ticked).toBe('# Plan\r\n- [ ] 1. A [ ] literal\r\n  - [x] 1.1 B\r\n- [ ] 2. C\r\n');
    expect(tickTask(ticked, '1', 2)).toBe('# Plan\r\n- [x] 1. A [ ] literal\r\n  - [x] 1.1 B\r\n- [ ] 2. C\r\n');
  });

  it('finds a task that moved since it was parsed, and leaves a done one alone', () => {
    const text = 'intro\n\n- [ ] 2. C\n';
    expect(tickTask(text, '2', 1)).toBe('intro\n\n- [x] 2. C\n');
    expect(tickTask('- [x] 2. C\n', '2', 1)).toBe('- [x] 2. C\n');
  });
});
