import { describe, expect, it } from 'vitest';
import type { RecoverRequest } from '../../src/events/work-commands.ts';
import { kindRecovery } from '../../src/recovery/kinds/index.ts';
import type { Probe } from '../../src/recovery/kinds/probe.ts';

/** A working directory in memory: paths and their first bytes. */
function probeOf(files: Record<string, string | Buffer>, workdir = '/w'): Probe {
  const paths = Object.keys(files);
  const bytes = (p: string) => Buffer.from(files[p.replace(/^\.\//, '')] ?? '');
  return {
    workdir,
    isFile: (p) => p.replace(/^\.\//, '') in files,
    isDir: (p) => paths.some((f) => f.startsWith(`${p.replace(/\/$/, '')}/`)),
    head: (p, n = 16) => bytes(p).subarray(0, n),
    text: (p) => (p in files ? bytes(p).toString('utf8') : undefined),
    findEnding: (suffix) => paths.filter((f) => f === suffix || f.endsWith(`/${suffix}`)),
    findFiles: (accept) => paths.filter(accept),
  };
}

const failure = (command: string, stderr: string, tried: RecoverRequest['tried'] = []): RecoverRequest => ({
  runId: 'r',
  taskId: '1',
  workdir: '/w',
  commandId: 'c1',
  command,
  exitCode: 1,
  timedOut: false,
  stdoutTail: '',
  stderrTail: stderr,
  attempt: 0,
  tried,
  llm: 'offline',
});

describe('strategies per kind of mistake', () => {
  it('adds the one folder that holds a missing header to the include path, and nothing when two do', () => {
    const header = 'main.c:1:10: fatal error: util.h: No such file or directory\n';
    expect(kindRecovery(failure('cd app && gcc -c main.c', header), probeOf({ 'include/util.h': '' }))).toMatchObject({
      strategyId: 'kind-search-path/include-dir',
      commands: ['cd app && gcc -Iinclude -c main.c'],
      retry: false,
    });
    expect(kindRecovery(failure('gcc -c main.c', header), probeOf({ 'a/util.h': '', 'b/util.h': '' }))).toBeUndefined();
  });

  it('names the interpreter the script is for, whatever ran it', () => {
    const reply = kindRecovery(
      failure('python3 tool.js --fast > out.txt', '  File "tool.js", line 1\nSyntaxError: invalid syntax\n'),
      probeOf({ 'tool.js': 'const a = 1;' }),
    );
    expect(reply).toMatchObject({ commands: ['node tool.js --fast > out.txt'] });
    expect(
      kindRecovery(failure('sh build.sh', 'build.sh: 3: [[: not found\n'), probeOf({ 'build.sh': 'x' })),
    ).toBeUndefined();
  });

  it('opens an archive with the tool of the format its first bytes say, not its name', () => {
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]);
    expect(
      kindRecovery(
        failure('tar xf bundle.tar', 'tar: This does not look like a tar archive\n'),
        probeOf({ 'bundle.tar': zip }),
      ),
    ).toMatchObject({ commands: ['unzip -q bundle.tar'] });
    // Part of a longer pipeline: not replaced by a guess.
    expect(
      kindRecovery(
        failure('tar xf bundle.tar && make', 'tar: This does not look like a tar archive\n'),
        probeOf({ 'bundle.tar': zip }),
      ),
    ).toBeUndefined();
  });

  it('quotes a name with spaces only when the whole name exists', () => {
    const missing = 'cat: release: No such file or directory\ncat: notes.txt: No such file or directory\n';
    expect(
      kindRecovery(failure('cat release notes.txt | wc -l', missing), probeOf({ 'release notes.txt': 'x' })),
    ).toMatchObject({ commands: ["cat 'release notes.txt' | wc -l"] });
    expect(kindRecovery(failure('cat release notes.txt', missing), probeOf({}))).toBeUndefined();
  });

  it('runs a CRLF script as its text without the carriage returns, leaving the file as it is', () => {
    const reply = kindRecovery(
      failure('bash steps.sh', "steps.sh: line 1: $'cd\\r': command not found\n"),
      probeOf({ 'steps.sh': 'cd\r\nls\r\n' }),
    );
    expect(reply).toMatchObject({ strategyId: 'kind-line-endings/crlf', commands: ["bash <(tr -d '\\r' < steps.sh)"] });
  });

  it('moves on from a variant already tried for the command', () => {
    const header = 'fatal error: util.h: No such file or directory\n';
    expect(
      kindRecovery(
        failure('gcc -c main.c', header, [{ strategyId: 'kind-search-path/include-dir', fingerprint: 'x' }]),
        probeOf({ 'include/util.h': '' }),
      ),
    ).toBeUndefined();
  });

  it('spells a BSD option the GNU way only when that tool complained', () => {
    expect(
      kindRecovery(failure("find . -name '*.c' -depth 1", "find: paths must precede expression: `1'\n"), probeOf({})),
    ).toMatchObject({ commands: ["find . -name '*.c' -mindepth 1 -maxdepth 1"] });
    expect(
      kindRecovery(failure("find . -name '*.c' -depth 1", 'find: permission denied\n'), probeOf({})),
    ).toBeUndefined();
  });
});
