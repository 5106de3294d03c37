import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { destroyedBy, masksFailure, predatingTargets, WORKING_TREE } from '../../src/recovery/destruction.ts';
import { DEFAULT_PATTERNS_FILE, PatternDb } from '../../src/recovery/pattern-db.ts';
import { choosePatternRecovery } from '../../src/recovery/choose.ts';
import { initialRecoveryStats } from '../../src/projections/recovery-stats.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('what a fix would destroy, read from its commands', () => {
  it.each([
    ['ln -sfn target link', ['link']],
    ['ln -s target link', []],
    ['gzip -f app.log', ['app.log.gz']],
    ['gzip app.log', []],
    ['gzip -cf app.log > out.gz', ['out.gz']],
    ['rm -rf build dist', ['build', 'dist']],
    ['mv new.txt notes.txt', ['notes.txt']],
    ['cp -n a b', []],
    ['cp a b', ['b']],
    ['echo x > config.ini', ['config.ini']],
    ['echo x >> config.ini', []],
    ["sed -i 's/\\r$//' run.sh", ['run.sh']],
    ['tar -czf backup.tgz src', ['backup.tgz']],
    ['git reset --hard', [WORKING_TREE]],
    ['git checkout -- src/app.js', ['src/app.js']],
    ['dd if=/dev/zero of=disk.img bs=1k count=1', ['disk.img']],
  ])('%s destroys %j', (line, paths) => {
    expect(destroyedBy(line)).toEqual(paths);
  });

  it("counts as the user's only regular files older than the run; symlinks, folders, new files, missing paths and git locks are not", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ia-destroy-'));
    dirs.push(dir);
    const runStart = Date.now();
    await writeFile(join(dir, 'old.txt'), 'user edits');
    await utimes(join(dir, 'old.txt'), new Date(runStart - 60_000), new Date(runStart - 60_000));
    await writeFile(join(dir, 'new.txt'), 'written by the run');
    await utimes(join(dir, 'new.txt'), new Date(runStart + 1000), new Date(runStart + 1000));
    expect(
      await predatingTargets(
        ['old.txt', 'new.txt', 'missing.txt', '.git/index.lock', WORKING_TREE, '*.log'],
        dir,
        runStart,
      ),
    ).toEqual(['old.txt', WORKING_TREE, '*.log']);
  });
});

describe('fixes that only mask a failure', () => {
  it.each([
    ['npm test', ['npm test || true'], /ignores the failure/],
    ['npm test', ['exit 0'], /only makes the step succeed/],
    ['pytest', ['pytest 2>/dev/null || echo skipped'], /ignores the failure|hides the failure/],
    ['npm test', ['rm tests/parser.test.js'], /deletes the test tests\/parser.test.js/],
  ])('the fix for `%s`: %j is refused', (failed, commands, why) => {
    expect(masksFailure(failed, commands)).toMatch(why);
  });

  it('a fix that prepares and runs the command again is not masking', () => {
    expect(masksFailure('npm test', ['npm install', 'npm test'])).toBeUndefined();
  });
});

describe('every destructive strategy in the pattern database', () => {
  it('is known by what its commands do on its own example, whatever risk it declares', async () => {
    const db = await PatternDb.load(DEFAULT_PATTERNS_FILE);
    const destructive: string[] = [];
    for (const pattern of db.patterns) {
      for (const example of pattern.examples ?? []) {
        const request = {
          runId: 'r',
          taskId: '1',
          workdir: '/w',
          commandId: 'c1',
          command: example.command,
          exitCode: example.exitCode,
          stderrTail: example.stderr,
          stdoutTail: example.stdout,
          timedOut: false,
          attempt: 0,
          tried: [],
          llm: 'offline' as const,
        };
        const choice = choosePatternRecovery(request, db, initialRecoveryStats(), {
          allow: [],
          allowEffects: ['installs-network', 'kills-processes', 'system'],
          patternAttemptsBeforeLlm: 3,
        });
        if (choice.kind !== 'reply' || choice.reply.decision !== 'fix') continue;
        const own = new Set(destroyedBy(example.command));
        const extra = choice.reply.commands.flatMap(destroyedBy).filter((p) => !own.has(p));
        if (extra.length) destructive.push(`${choice.reply.strategyId}`);
      }
    }
    // The two that destroyed user data in the field, the in-place edits of a user's file, and the
    // stale git lock (which holds no content, and is let go by predatingTargets).
    expect([...new Set(destructive)].sort()).toEqual([
      'crlf-bad-interpreter/strip-cr',
      'crlf-env-interpreter/strip-cr',
      'git-index-lock/remove-stale-lock',
      'gzip-output-exists/force',
      'ln-target-exists/ln-force',
      'make-missing-separator/tabs',
      'missing-interpreter/strip-cr',
    ]);
  });
});

describe("the tool's own suggestion", () => {
  const request = (command: string, stderr: string) => ({
    runId: 'r',
    taskId: '1',
    workdir: '/w',
    commandId: 'c1',
    command,
    exitCode: 1,
    stderrTail: stderr,
    stdoutTail: '',
    timedOut: false,
    attempt: 0,
    tried: [],
    llm: 'offline' as const,
  });
  const choose = async (command: string, stderr: string) =>
    choosePatternRecovery(
      request(command, stderr),
      await PatternDb.load(DEFAULT_PATTERNS_FILE),
      initialRecoveryStats(),
      { allow: [], allowEffects: [], patternAttemptsBeforeLlm: 3 },
    );

  it('is taken when the tool names one command, replacing only the misspelled word', async () => {
    const choice = await choose(
      'git -C sub comit -qm "comit message"',
      "git: 'comit' is not a git command. See 'git --help'.\n\nThe most similar command is\n\tcommit\n",
    );
    expect(choice).toMatchObject({
      kind: 'reply',
      reply: {
        decision: 'fix',
        strategyId: 'git-command-typo/take-suggestion',
        commands: ['git -C sub commit -qm "comit message"'],
      },
    });
  });

  it("is not taken when the tool names several (a guess between them is not the tool's)", async () => {
    const choice = await choose(
      'git sta',
      "git: 'sta' is not a git command. See 'git --help'.\n\nThe most similar commands are\n\tstatus\n\tstage\n\tstash\n",
    );
    expect(choice.kind).toBe('llm');
  });

  it('is held back when it would install from the network, saying how to allow it', async () => {
    const choice = await choose(
      'python3 -m pip instal requests',
      'ERROR: unknown command "instal" - maybe you meant "install"\n',
    );
    expect(choice).toMatchObject({
      kind: 'llm',
      why: expect.stringMatching(/pip-command-typo\/take-suggestion .*recovery.allow: \["installs-network"\]/),
    });
  });
});
