import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RecoverRequest } from '../../src/events/work-commands.ts';
import { choosePatternRecovery, isLoop } from '../../src/recovery/choose.ts';
import { failureFingerprint } from '../../src/recovery/fingerprint.ts';
import { DEFAULT_PATTERNS_FILE, PatternDb, exampleFailure, type PatternFile } from '../../src/recovery/pattern-db.ts';
import { MIN_ATTEMPTS, evidenced, reorderByStatistics } from '../../src/recovery/tune.ts';
import { fillPlaceholders } from '../../src/recovery/placeholders.ts';
import { initialRecoveryStats, type RecoveryStats } from '../../src/projections/recovery-stats.ts';

const db = PatternDb.parse(JSON.parse(readFileSync(DEFAULT_PATTERNS_FILE, 'utf8')), DEFAULT_PATTERNS_FILE);
const options = { allow: [], allowEffects: [], patternAttemptsBeforeLlm: 3 };

function request(over: Partial<RecoverRequest>): RecoverRequest {
  return {
    runId: 'r',
    taskId: '1',
    workdir: '/w',
    commandId: 'c1',
    command: 'x',
    exitCode: 1,
    timedOut: false,
    stdoutTail: '',
    stderrTail: '',
    attempt: 0,
    tried: [],
    llm: 'offline',
    ...over,
  };
}

describe('the pattern database', () => {
  it('holds at least 40 patterns, each with an example', () => {
    expect(db.patterns.length).toBeGreaterThanOrEqual(40);
    for (const p of db.patterns) expect(p.examples.length, p.id).toBeGreaterThan(0);
  });

  it.each(db.patterns.flatMap((p) => p.examples.map((e, i) => [`${p.id}#${i + 1}`, p.id, e] as const)))(
    '%s: its recorded message is matched first by its own pattern',
    (_, id, example) => {
      const matches = db.match(exampleFailure(example));
      expect(matches[0]?.pattern.id).toBe(id);
      for (const [k, v] of Object.entries(example.captures ?? {})) expect(matches[0]!.captures[k]).toBe(v);
    },
  );

  it('refuses a pattern file with a bad regex or a duplicate id, naming it', () => {
    const bad = {
      version: 1,
      patterns: [{ id: 'x', kind: 'fix', description: '', match: { stderr: '(' }, strategies: [] }],
    };
    expect(() => PatternDb.parse(bad, 'p.json')).toThrow(/p.json: pattern x: Invalid regular expression/);
    const dup = { version: 1, patterns: [bad.patterns[0], bad.patterns[0]].map((p) => ({ ...p, match: {} })) };
    expect(() => PatternDb.parse(dup, 'p.json')).toThrow(/duplicate pattern id x/);
  });
});

describe('placeholders', () => {
  it('fills, transforms and shell-quotes captured values', () => {
    expect(fillPlaceholders('mkdir -p {file|dirname}', { file: 'out dir/a.txt' })).toBe("mkdir -p 'out dir'");
    expect(fillPlaceholders('npm i {module|package}', { module: '@scope/pkg/sub/path' })).toBe('npm i @scope/pkg');
    expect(fillPlaceholders('pip install {module|pypackage}', { module: 'yaml.constructor' })).toBe(
      'pip install pyyaml',
    );
    expect(fillPlaceholders('x {file}', { file: "a'; rm -rf ~; '" })).toBe(`x 'a'\\''; rm -rf ~; '\\'''`);
    expect(fillPlaceholders('unzip -d {dir|or:.}', {})).toBe('unzip -d .');
    expect(fillPlaceholders('chmod +x {file}', {})).toBeUndefined();
  });
});

describe('choosePatternRecovery', () => {
  const mkdirFailure = request({
    command: 'mkdir a/b/c',
    stderrTail: "mkdir: cannot create directory 'a/b/c': No such file or directory\n",
  });

  it('fixes a known failure without the LLM', () => {
    expect(choosePatternRecovery(mkdirFailure, db, initialRecoveryStats(), options)).toEqual({
      kind: 'reply',
      reply: expect.objectContaining({
        decision: 'fix',
        patternId: 'mkdir-missing-parent',
        strategyId: 'mkdir-missing-parent/mkdir-p',
        commands: ['mkdir -p a/b/c'],
        retry: false,
        source: 'pattern',
      }),
    });
  });

  it('rewrites the command when the strategy says so', () => {
    const r = choosePatternRecovery(
      request({ command: 'cp d e', stderrTail: "cp: -r not specified; omitting directory 'd'\n" }),
      db,
      initialRecoveryStats(),
      options,
    );
    expect(r).toMatchObject({ reply: { commands: ['cp -r d e'], retry: false } });
  });

  it('never installs a package named after an import, and never creates a folder a command reads from', () => {
    const missingModule = request({
      command: `python3 -c 'import nosuchmodule'`,
      stderrTail:
        'Traceback (most recent call last):\n  File "<string>", line 1, in <module>\nModuleNotFoundError: No module named \'nosuchmodule\'\n',
    });
    const r1 = choosePatternRecovery(missingModule, db, initialRecoveryStats(), options);
    expect(r1).toMatchObject({
      kind: 'llm',
      why: expect.stringMatching(/^python-missing-module: .*none is installed by guess.*`pip install nosuchmodule`/),
    });
    const missingDir = request({
      command: 'cd frontend && ls',
      stderrTail: 'bash: line 1: cd: frontend: No such file or directory\n',
    });
    const r2 = choosePatternRecovery(missingDir, db, initialRecoveryStats(), options);
    expect(r2).toMatchObject({ kind: 'llm', why: expect.stringMatching(/^cd-missing-dir: .*an input is missing/) });
    const readsMissing = request({
      command: 'tar -czf site.tgz public',
      stderrTail: 'tar: public: Cannot stat: No such file or directory\n',
    });
    expect(choosePatternRecovery(readsMissing, db, initialRecoveryStats(), options)).toMatchObject({
      kind: 'llm',
      why: expect.stringMatching(/^missing-input: the command reads public/),
    });
  });

  it('creates the folder of a path the command creates, for any tool the shell analysis reads', () => {
    const r = choosePatternRecovery(
      request({
        command: 'sort -o reports/sorted.txt in.txt',
        stderrTail: 'sort: open failed: reports/sorted.txt: No such file or directory\n',
      }),
      db,
      initialRecoveryStats(),
      options,
    );
    expect(r).toMatchObject({
      reply: { patternId: 'missing-output-folder', commands: ['mkdir -p reports'], retry: true },
    });
    const into = choosePatternRecovery(
      request({
        command: 'tar -xf a.tar -C dest/www',
        stderrTail: 'tar: dest/www: Cannot open: No such file or directory\n',
      }),
      db,
      initialRecoveryStats(),
      options,
    );
    expect(into).toMatchObject({ reply: { patternId: 'missing-output-folder', commands: ['mkdir -p dest/www'] } });
    // After a cd the relative path is not ours to create.
    const moved = choosePatternRecovery(
      request({
        command: 'cd app && sort -o reports/s.txt in.txt',
        stderrTail: 'sort: open failed: reports/s.txt: No such file or directory\n',
      }),
      db,
      initialRecoveryStats(),
      options,
    );
    expect(moved).toMatchObject({ kind: 'llm' });
  });

  it('offers network installs and killing processes only when recovery.allow lists them, and says how', () => {
    const missing = request({
      command: `node -e "require('left-pad')"`,
      stderrTail: "Error: Cannot find module 'left-pad'\nRequire stack:\n- /w/[eval]\n",
    });
    const first = choosePatternRecovery(missing, db, initialRecoveryStats(), options);
    expect(first).toMatchObject({
      reply: {
        strategyId: 'node-missing-package/install-declared-offline',
        commands: [`grep -q '"left-pad"' package.json`, 'npm install --offline --no-audit --no-fund'],
      },
    });
    const tried = [{ strategyId: 'node-missing-package/install-declared-offline', fingerprint: 'f' }];
    const refused = choosePatternRecovery({ ...missing, tried }, db, initialRecoveryStats(), options);
    expect(refused).toMatchObject({
      kind: 'llm',
      why: expect.stringContaining('recovery.allow: ["installs-network"]'),
    });
    expect(refused).toMatchObject({ why: expect.stringContaining('`npm install left-pad`') });
    const allowed = choosePatternRecovery({ ...missing, tried }, db, initialRecoveryStats(), {
      ...options,
      allowEffects: ['installs-network'],
    });
    expect(allowed).toMatchObject({
      reply: {
        strategyId: 'node-missing-package/install-declared',
        commands: [`grep -q '"left-pad"' package.json`, 'npm install --no-audit --no-fund'],
      },
    });
  });

  it('declares the effects of every strategy; none installs a name read from the output', () => {
    for (const p of db.patterns) {
      for (const s of p.strategies) {
        const installs = s.commands.some(
          (c) => /\b(npm|pip3?|yarn|pnpm) (install|add|i)\b/.test(c) || /\bapt(-get)? install\b/.test(c),
        );
        if (installs)
          expect(
            s.effects.some((e) => e.startsWith('installs-') || e === 'system'),
            `${p.id}/${s.id}`,
          ).toBe(true);
        if (s.commands.some((c) => /\b(fuser -k|kill|pkill)\b/.test(c)))
          expect(s.effects, `${p.id}/${s.id}`).toContain('kills-processes');
        for (const c of s.commands)
          expect(c, `${p.id}/${s.id}`).not.toMatch(/\b(npm|pip3?) install\b[^&|;]*\{(module|command)/);
      }
    }
  });

  it('says benign when the failure may mean the work is done, with the state check that must show it', () => {
    const r = choosePatternRecovery(
      request({ command: 'mkdir src', stderrTail: "mkdir: cannot create directory 'src': File exists\n" }),
      db,
      initialRecoveryStats(),
      options,
    );
    expect(r).toEqual({
      kind: 'reply',
      reply: { decision: 'benign', patternId: 'mkdir-exists', strategyId: 'mkdir-exists/benign', holds: 'test -d src' },
    });
  });

  it('never says benign without a state check: a benign pattern without one, or whose captures cannot fill it', () => {
    const unchecked = PatternDb.parse(
      {
        version: 1,
        patterns: [
          { id: 'done-anyway', kind: 'benign', description: 'x', match: { output: 'already done' }, strategies: [] },
        ],
      },
      'test',
    );
    const failure = request({ command: 'make', stdoutTail: 'already done\n' });
    expect(choosePatternRecovery(failure, unchecked, initialRecoveryStats(), options)).toMatchObject({ kind: 'llm' });
    // The remote's URL comes from the command: one it cannot read (a variable) checks nothing.
    const remote = request({ command: 'git remote add origin', stderrTail: 'error: remote origin already exists.\n' });
    expect(choosePatternRecovery(remote, db, initialRecoveryStats(), options)).toMatchObject({ kind: 'llm' });
  });

  it('orders strategies by posterior: a strategy that keeps failing here sinks', () => {
    const portFailure = request({
      command: 'node server.js',
      stderrTail: 'Error: listen EADDRINUSE: address already in use :::3000\n',
    });
    const killing = { ...options, allowEffects: ['kills-processes' as const] };
    expect(choosePatternRecovery(portFailure, db, initialRecoveryStats(), options)).toMatchObject({
      reply: { strategyId: 'port-in-use/wait-retry' },
    });
    expect(choosePatternRecovery(portFailure, db, initialRecoveryStats(), killing)).toMatchObject({
      reply: { strategyId: 'port-in-use/free-port' },
    });
    const stats: RecoveryStats = {
      ...initialRecoveryStats(),
      strategies: {
        'port-in-use/free-port': { attempts: 5, successes: 0 },
        'port-in-use/wait-retry': { attempts: 3, successes: 3 },
      },
    };
    expect(choosePatternRecovery(portFailure, db, stats, killing)).toMatchObject({
      reply: { strategyId: 'port-in-use/wait-retry', source: 'learned' },
    });
  });

  it('passes over tried strategies and privileged ones the policy denies, then goes to the LLM', () => {
    const pip = request({ command: 'python3 -m pip install x', stderrTail: '/usr/bin/python3: No module named pip\n' });
    const tried = [{ strategyId: 'pip-missing/ensurepip', fingerprint: 'f' }];
    expect(choosePatternRecovery({ ...pip, tried }, db, initialRecoveryStats(), options)).toMatchObject({
      kind: 'llm',
    });
    expect(
      choosePatternRecovery({ ...pip, tried }, db, initialRecoveryStats(), { ...options, allow: ['system-packages'] }),
    ).toMatchObject({ kind: 'llm' });
    expect(
      choosePatternRecovery({ ...pip, tried }, db, initialRecoveryStats(), {
        allow: ['system-packages'],
        allowEffects: ['system', 'installs-network'],
        patternAttemptsBeforeLlm: 3,
      }),
    ).toMatchObject({
      reply: { strategyId: 'pip-missing/apt-pip', commands: ['apt-get install -y python3-pip'] },
    });
  });

  it('escalates unknown failures and escalate-kind patterns to the LLM, saying why', () => {
    expect(choosePatternRecovery(request({ stderrTail: 'gremlins\n' }), db, initialRecoveryStats(), options)).toEqual({
      kind: 'llm',
      why: 'no error pattern matches "gremlins"',
    });
    expect(
      choosePatternRecovery(
        request({
          command: 'make',
          stderrTail: 'make: *** No targets specified and no makefile found.  Stop.\n',
          exitCode: 2,
        }),
        db,
        initialRecoveryStats(),
        options,
      ),
    ).toMatchObject({
      kind: 'llm',
      why: expect.stringMatching(/^make-no-makefile/),
    });
  });

  it('goes to the LLM after the configured number of failed pattern attempts', () => {
    const tried = [1, 2, 3].map((i) => ({ strategyId: `other-${i}/s`, fingerprint: 'f' }));
    expect(choosePatternRecovery({ ...mkdirFailure, tried }, db, initialRecoveryStats(), options)).toMatchObject({
      kind: 'llm',
      why: expect.stringMatching(/^mkdir-missing-parent: .*; 3 pattern strategies failed$/),
    });
  });

  it('detects a loop: the same fix met by the same failure', () => {
    const fp = failureFingerprint({
      exitCode: 1,
      timedOut: false,
      stdoutTail: '',
      stderrTail: mkdirFailure.stderrTail,
    });
    expect(isLoop({ ...mkdirFailure, tried: [{ strategyId: 'llm/abc', fingerprint: fp }] }, 'llm/abc')).toBe(true);
    expect(isLoop({ ...mkdirFailure, tried: [{ strategyId: 'llm/abc', fingerprint: 'other' }] }, 'llm/abc')).toBe(
      false,
    );
  });
});

describe('tune: reordering needs evidence', () => {
  const file = JSON.parse(readFileSync(DEFAULT_PATTERNS_FILE, 'utf8')) as PatternFile;
  const stats = (entries: Record<string, [number, number]>): RecoveryStats => ({
    ...initialRecoveryStats(),
    strategies: Object.fromEntries(
      Object.entries(entries).map(([k, [successes, attempts]]) => [k, { successes, attempts }]),
    ),
  });
  const order = (f: PatternFile, id: string) => f.patterns.find((p) => p.id === id)!.strategies.map((s) => s.id);

  it('changes nothing without recorded outcomes, whatever the declared priors say', () => {
    expect(reorderByStatistics(file, initialRecoveryStats())).toEqual(file);
    expect(evidenced(file, initialRecoveryStats())).toEqual([]);
  });

  it('moves only strategies with enough attempts, and keeps the safer first on equal evidence', () => {
    const [first, second] = order(file, 'port-in-use');
    const few = stats({
      [`port-in-use/${first}`]: [0, MIN_ATTEMPTS - 1],
      [`port-in-use/${second}`]: [MIN_ATTEMPTS - 1, MIN_ATTEMPTS - 1],
    });
    expect(order(reorderByStatistics(file, few), 'port-in-use')).toEqual(order(file, 'port-in-use'));
    const enough = stats({
      [`port-in-use/${first}`]: [0, MIN_ATTEMPTS],
      [`port-in-use/${second}`]: [MIN_ATTEMPTS, MIN_ATTEMPTS],
    });
    expect(order(reorderByStatistics(file, enough), 'port-in-use').slice(0, 2)).toEqual([second, first]);
    const risky = file.patterns.find((p) => p.id === 'port-in-use')!.strategies;
    const equal = stats(
      Object.fromEntries(risky.map((s) => [`port-in-use/${s.id}`, [3, MIN_ATTEMPTS] as [number, number]])),
    );
    const rank = { low: 0, medium: 1, high: 2 } as const;
    const reordered = reorderByStatistics(file, equal).patterns.find((p) => p.id === 'port-in-use')!.strategies;
    expect(reordered.map((s) => rank[s.risk])).toEqual([...reordered.map((s) => rank[s.risk])].sort((a, b) => a - b));
  });
});
