import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnvironment } from '../src/exec/child-env.ts';
import { runShellCommand } from '../src/exec/run-command.ts';
import { DEFAULT_PATTERNS_FILE, PatternDb } from '../src/recovery/pattern-db.ts';
import { REPO_ROOT } from './helpers/nats.ts';

/**
 * Each pattern against the real message of the real tool: the failure is produced here, in a
 * scratch folder, under the executor's environment (LC_ALL=C), and must be recognised.
 */
const TSC = join(REPO_ROOT, 'node_modules/.bin/tsc');
const CASES: [string, string, string?][] = [
  ['mkdir-missing-parent', 'mkdir a/b/c'],
  ['mkdir-exists', 'mkdir exists', 'mkdir exists'],
  ['redirect-missing-dir', 'echo hi > out/report.txt'],
  ['touch-missing-dir', 'touch q/r'],
  ['cp-missing-target-dir', 'cp src.txt build/x/a.txt', 'echo s > src.txt'],
  ['mv-missing-target-dir', 'mv src.txt dist/sub/a.txt', 'echo s > src.txt'],
  ['cp-directory-without-r', 'cp d e', 'mkdir d'],
  ['ln-target-exists', 'ln -s x y', 'ln -s x y'],
  ['rm-missing', 'rm nothere'],
  ['script-not-executable', './build.sh', 'printf "#!/bin/bash\\necho hi\\n" > build.sh'],
  ['crlf-bad-interpreter', './run.sh', 'printf "#!/bin/bash\\r\\necho hi\\r\\n" > run.sh && chmod +x run.sh'],
  ['crlf-env-interpreter', './run.sh', 'printf "#!/usr/bin/env bash\\r\\necho hi\\r\\n" > run.sh && chmod +x run.sh'],
  ['cd-missing-dir', 'cd pkg/core && ls'],
  ['command-not-found', 'frobnicate --all'],
  ['read-missing-file', 'cat notes.txt'],
  ['shell-syntax-error', 'echo )'],
  ['rmdir-not-empty', 'rmdir full', 'mkdir full && touch full/x'],
  ['node-missing-package', `node -e "require('left-pad-not-installed')"`],
  ['node-missing-local-module', 'node -e "require(\'./lib/util\')"'],
  ['node-esm-missing-package', `node --input-type=module -e "import 'left-pad-not-installed'"`],
  ['node-syntax-error', 'node bad.js', 'echo "const = 1;" > bad.js'],
  ['esm-import-in-commonjs', 'node imp.js', 'echo "import fs from \'fs\';" > imp.js && echo \'{"type":"commonjs"}\' > package.json'],
  ['require-in-esm', 'node req.mjs', 'echo "require(\'fs\')" > req.mjs'],
  ['npm-missing-test-script', 'npm test', 'echo \'{"name":"x","version":"1.0.0"}\' > package.json'],
  ['npm-missing-script', 'npm run nope', 'echo \'{"name":"x","version":"1.0.0"}\' > package.json'],
  ['npm-ci-without-lockfile', 'npm ci --offline', 'echo \'{"name":"x","version":"1.0.0"}\' > package.json'],
  ['npm-no-package-json', 'npm run build'],
  ['port-in-use', `node -e "const s=require('net').createServer().listen(0,()=>{require('net').createServer().listen(s.address().port)})"`],
  ['python-missing-module', 'python3 -c "import yaml_not_installed_here"'],
  ['git-not-a-repository', 'git status'],
  ['git-identity-unknown', 'git init -q && touch f && git add f && git commit -qm x', 'git config --global --unset-all user.email; true'],
  ['git-branch-exists', 'git checkout -q -b main2', 'git init -q -b main && git -c user.email=a@b -c user.name=a commit -q --allow-empty -m x && git branch main2'],
  ['git-nothing-to-commit', 'git -c user.email=a@b -c user.name=a commit -m again', 'git init -q && git -c user.email=a@b -c user.name=a commit -q --allow-empty -m x'],
  ['git-remote-exists', 'git remote add origin y', 'git init -q && git remote add origin x'],
  ['git-pathspec-no-match', 'git add nope.txt', 'git init -q'],
  ['make-no-makefile', 'make'],
  ['make-no-rule', 'make foo', 'printf "all:\\n\\ttrue\\n" > Makefile'],
  ['make-missing-separator', 'make', 'printf "all:\\n    echo hi\\n" > Makefile'],
  ['tar-not-gzip', 'tar -xzf f.tar', 'echo hi > f.txt && tar -cf f.tar f.txt'],
  ['tar-missing-archive', 'tar -xzf missing.tgz'],
  ['tsc-missing-node-types', `${TSC} --noEmit a.ts`, 'echo "process.exit(0);" > a.ts'],
  ['tsc-missing-module', `${TSC} --noEmit --moduleResolution node a.ts`, 'echo "import z from \'zzz-not-here\'; console.log(z);" > a.ts'],
  ['tsc-type-errors', `${TSC} --noEmit a.ts`, 'echo "const n: number = \'s\';" > a.ts'],
  ['ts-unknown-extension', 'node main.ts', 'echo \'{"type":"module"}\' > package.json && echo "const x: number = 1; console.log(x)" > main.ts'],
];

const db = await PatternDb.load(DEFAULT_PATTERNS_FILE);
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ia-live-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('patterns against real tools', () => {
  it.each(CASES)('%s', async (id, command, setup) => {
    const dir = await mkdtemp(join(root, `${id}-`));
    const home = await mkdtemp(join(root, 'home-'));
    const { env } = childEnvironment();
    const options = { cwd: dir, env: { ...env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', npm_config_cache: join(root, 'npm-cache') }, timeoutMs: 30_000, tailChars: 4000, keepBytes: 65536 };
    if (setup) expect((await runShellCommand(setup, options)).exitCode).toBe(0);
    const r = await runShellCommand(command, options);
    expect(r.exitCode, r.stderrTail).not.toBe(0);
    const matches = db.match({ command, exitCode: r.exitCode, stdout: r.stdoutTail, stderr: r.stderrTail, timedOut: r.timedOut });
    expect(matches[0]?.pattern.id, `${r.stdoutTail}\n${r.stderrTail}`).toBe(id);
  });
});
