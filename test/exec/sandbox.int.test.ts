import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeBwrap, toolchainHomes } from '../../src/exec/sandbox.ts';
import { ofType as of, runCli, workspaces } from '../helpers/cli.ts';
import { startTestNats } from '../helpers/nats.ts';
import { outsideFolder } from '../helpers/outside.ts';

let server: Awaited<ReturnType<typeof startTestNats>>;
const ws = workspaces();
const bwrapWorks = (await probeBwrap()) === undefined;

beforeAll(async () => {
  server = await startTestNats();
});
afterAll(async () => {
  await server?.stop();
  await ws.cleanup();
});

/** The spellings a deny list cannot close, each a task of its own. */
const ATTACKS = [
  'rm -rf ~/canary',
  "r''m -rf ~/canary",
  '$(echo rm) -rf ~/canary',
  'bash -c "rm -rf ~/canary"',
  'eval "rm -rf ~/canary"',
  `echo ${Buffer.from('rm -rf "$REAL_HOME/canary"').toString('base64')} | base64 -d | sh`,
  'find "$REAL_HOME/canary" -delete',
  'cd "$REAL_HOME" && rm -rf canary',
  'echo x > "$REAL_HOME/canary/keep"',
  `python3 -c "import shutil,os; shutil.rmtree(os.environ['REAL_HOME'] + '/canary')"`,
  `node -e "require('fs').rmSync(process.env.REAL_HOME + '/canary', {recursive: true})"`,
  'cp /etc/hostname "$REAL_HOME/canary/keep"',
  'rm -rf "$OUTSIDE"',
  'touch /usr/local/implement-agent-was-here',
];

describe.skipIf(!bwrapWorks)('confinement with bubblewrap (real, no mock)', () => {
  it('leaves a canary outside the working directory intact under every spelling, deny list on or off', async () => {
    const home = await outsideFolder('home-');
    const outside = await outsideFolder('outside-');
    try {
      await mkdir(join(home, 'canary'));
      await writeFile(join(home, 'canary/keep'), 'canary\n');
      await writeFile(join(outside, 'keep'), 'outside\n');
      const tasks = ATTACKS.map(
        (a, i) => `- [ ] ${i + 1}. Attack ${i + 1}\n  - Depends:\n  \`\`\`bash\n  ${a}\n  \`\`\`\n`,
      ).join('');
      for (const allowDeny of [false, true]) {
        const w = await ws.make(tasks);
        const config = {
          sandbox: 'bwrap',
          ...(allowDeny ? { policy: { allow: ['outside-workdir', 'destructive-delete'] } } : {}),
        };
        await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify(config));
        // REAL_HOME spells the real home out, so the attacks that name it do not depend on `~`.
        const { result, events } = await runCli(
          ['run', w.tasks, '--workdir', w.dir, '--continue', 'always'],
          { NATS_URL: server.url, HOME: home, REAL_HOME: home, OUTSIDE: outside, PATH: process.env.PATH ?? '' },
          w.dir,
        );
        expect(result.exitCode, result.stderr).toBeLessThanOrEqual(1);
        expect(await readFile(join(home, 'canary/keep'), 'utf8')).toBe('canary\n');
        expect(await readFile(join(outside, 'keep'), 'utf8')).toBe('outside\n');
        const started = of(events, 'CommandStarted');
        if (allowDeny) expect(started.length).toBeGreaterThanOrEqual(ATTACKS.length);
        for (const s of started) expect(s.data.confinement).toMatch(/^bwrap/);
        // A refused write says which and how to allow it.
        const refused = of(events, 'CommandFinished').filter((e) => e.data.refused);
        // With the deny list on, the last attack is denied before it runs; off, the sandbox refuses it.
        const last = String(ATTACKS.length);
        if (allowDeny) {
          // Every attack on a place outside (the outside folder, /usr/local) meets the read-only
          // filesystem; those that say `~` reach only the command's own home, and those that spell
          // the real home out find it empty (the homes are not visible inside).
          // (The base64 attack spells $REAL_HOME once decoded.)
          const outsideAttacks = ATTACKS.flatMap((a, i) => (/~|REAL_HOME|base64/.test(a) ? [] : [String(i + 1)]));
          expect(refused.map((e) => e.taskId).sort()).toEqual(outsideAttacks.sort());
          for (const e of refused)
            expect(e.data.refused).toMatch(/^the sandbox refused a write to .*sandbox\.writable/);
          expect(refused.find((e) => e.taskId === last)!.data.refused).toMatch(
            /write to \/usr\/local\/implement-agent-was-here /,
          );
          expect(of(events, 'TaskFailed').find((e) => e.taskId === last)!.data.reason).toMatch(
            /sandbox refused a write/,
          );
          expect(of(events, 'RecoveryAttempted').filter((e) => e.taskId === last)).toEqual([]);
        } else {
          expect(of(events, 'CommandDenied').find((e) => e.taskId === last)!.data.rule).toBe('outside-workdir');
        }
      }
    } finally {
      await rm(home, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('lets commands write in the working directory and keeps a per-project home (package caches) between runs', async () => {
    const home = await outsideFolder('home-');
    try {
      const w = await ws.make(
        '- [ ] 1. Use the tools\n  ```bash\n  npm init -y >/dev/null && test -f package.json\n  mkdir -p ~/.cache/tool && echo cached > ~/.cache/tool/entry\n  echo scratch > /tmp/scratch && cat /tmp/scratch\n  ```\n',
      );
      const env = { NATS_URL: server.url, HOME: home, PATH: process.env.PATH ?? '' };
      const first = await runCli(['run', w.tasks, '--workdir', w.dir], env, w.dir);
      expect(first.result.exitCode, JSON.stringify(of(first.events, 'TaskFailed').map((e) => e.data.reason))).toBe(0);
      await writeFile(
        w.tasks,
        '- [ ] 1. Read the cache\n  - Success: `cat ~/.cache/tool/entry` outputs cached\n  ```bash\n  ls ~/.cache/tool\n  ```\n',
      );
      const second = await runCli(['run', w.tasks, '--workdir', w.dir], env, w.dir);
      expect(second.result.exitCode, JSON.stringify(of(second.events, 'TaskFailed').map((e) => e.data.reason))).toBe(0);
      // Nothing was written to the real home, and the private /tmp was private.
      expect(await readdir(home)).toEqual([]);
      await expect(readFile('/tmp/scratch', 'utf8')).rejects.toThrow();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it.skipIf(process.env.RBENV_ROOT !== undefined)(
    'points toolchain managers at their folder in the real home, read-only, and keeps a variable already set',
    async () => {
      const home = await outsideFolder('home-');
      try {
        await mkdir(join(home, '.rbenv'));
        await writeFile(join(home, '.rbenv/version'), 'fake-3.3\n');
        const w = await ws.make(
          '- [ ] 1. Find the toolchains\n  ```bash\n  cat "$RBENV_ROOT/version"\n  echo "pyenv at $PYENV_ROOT"\n  touch "$RBENV_ROOT/written" 2>/dev/null || echo read-only\n  ```\n',
        );
        await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ sandbox: 'bwrap' }));
        const { result, events } = await runCli(
          ['run', w.tasks, '--workdir', w.dir],
          { NATS_URL: server.url, HOME: home, PYENV_ROOT: '/opt/pyenv-of-my-own', PATH: process.env.PATH ?? '' },
          w.dir,
        );
        expect(result.exitCode, JSON.stringify(of(events, 'TaskFailed').map((e) => e.data.reason))).toBe(0);
        // Independent commands may finish in any order.
        expect(
          of(events, 'CommandFinished')
            .map((e) => e.data.stdoutTail.trim())
            .sort(),
        ).toEqual(['fake-3.3', 'pyenv at /opt/pyenv-of-my-own', 'read-only']);
        expect(await readdir(join(home, '.rbenv'))).toEqual(['version']);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(process.env.GIT_CONFIG_GLOBAL !== undefined)(
    "commits under the user's own git identity, from the real ~/.gitconfig, and leaves the repository's config alone",
    async () => {
      const home = await outsideFolder('home-');
      try {
        await writeFile(join(home, '.gitconfig'), '[user]\n\tname = Real Person\n\temail = real@example.org\n');
        const w = await ws.make(
          '- [ ] 1. Commit\n  ```bash\n  git init -q && git commit -q --allow-empty -m first && git log -1 --format=%an\n  ```\n',
        );
        await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ sandbox: 'bwrap' }));
        const { result, events } = await runCli(
          ['run', w.tasks, '--workdir', w.dir],
          { NATS_URL: server.url, HOME: home, PATH: process.env.PATH ?? '' },
          w.dir,
        );
        expect(result.exitCode, JSON.stringify(of(events, 'TaskFailed').map((e) => e.data.reason))).toBe(0);
        expect(of(events, 'CommandFinished')[0]!.data.stdoutTail.trim()).toBe('Real Person');
        expect(of(events, 'RecoveryAttempted')).toEqual([]);
        expect(await readFile(join(w.dir, '.git/config'), 'utf8')).not.toContain('[user]');
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    },
  );

  const rustup = join(homedir(), '.rustup');
  it.skipIf(
    !existsSync(rustup) ||
      process.env.RUSTUP_HOME !== undefined ||
      toolchainHomes(homedir(), {}).RUSTUP_HOME === undefined,
  )('runs a rustup toolchain installed in the real home (cargo, rustc)', async () => {
    const w = await ws.make('- [ ] 1. Rust\n  ```bash\n  cargo --version\n  rustc --version\n  ```\n');
    await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ sandbox: 'bwrap' }));
    const { result, events } = await runCli(
      ['run', w.tasks, '--workdir', w.dir],
      { NATS_URL: server.url, PATH: process.env.PATH ?? '', HOME: homedir() },
      w.dir,
    );
    expect(result.exitCode, JSON.stringify(of(events, 'TaskFailed').map((e) => e.data.reason))).toBe(0);
    expect(
      of(events, 'CommandFinished')
        .map((e) => e.data.stdoutTail)
        .sort(),
    ).toEqual([expect.stringMatching(/^cargo \d/), expect.stringMatching(/^rustc \d/)]);
  });

  it('ends a background process the command left behind (new PID namespace)', async () => {
    // A sleep of its own length: another test's sleeper (sandbox-limits runs one alongside) is not this one.
    const sleeper = `sleep 300.${process.pid}`;
    const w = await ws.make(`- [ ] 1. Leave a sleeper\n  \`\`\`bash\n  (${sleeper} &) ; echo started\n  \`\`\`\n`);
    await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ sandbox: 'bwrap' }));
    const { result } = await runCli(
      ['run', w.tasks, '--workdir', w.dir],
      { NATS_URL: server.url, PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
      w.dir,
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const sleepers = await execa('pgrep', ['-f', sleeper], { reject: false });
    expect(sleepers.stdout.trim()).toBe('');
  });
});

describe('secrets by shape never reach the log', () => {
  it('blanks URL credentials, key=value secrets and well-known token formats from command output, and says which rule', async () => {
    const w = await ws.make(
      '- [ ] 1. Print secrets\n  ```bash\n  env | grep -E "DATABASE_URL|SERVICE_CONF" ; cat .env\n  ```\n',
    );
    const secrets = {
      url: 's3cretpw-url',
      openai: `sk-live-${'a1B2c3D4'.repeat(4)}`,
      github: `ghp_${'Z9y8X7w6'.repeat(5)}`,
      aws: 'AKIAIOSFODNN7EXAMPLE',
      slack: 'xoxb-1234567890-abcdefghij',
      jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyMSJ9.c2lnbmF0dXJlLXBhcnQ',
      key: 'hunter2-secret-value',
    };
    await writeFile(
      join(w.dir, '.env'),
      `API_KEY=${secrets.openai}\nGH=${secrets.github}\nAWS_ID=${secrets.aws}\nSLACK=${secrets.slack}\nSESSION=${secrets.jwt}\n-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\n`,
    );
    const { result, events } = await runCli(
      ['run', w.tasks, '--workdir', w.dir],
      {
        NATS_URL: server.url,
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        DATABASE_URL: `postgres://app:${secrets.url}@db.internal/app`,
        SERVICE_CONF: `db_password=${secrets.key}`,
      },
      w.dir,
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const finished = of(events, 'CommandFinished')[0]!;
    expect(finished.data.stdoutTail).toContain('postgres://app:[REDACTED]@db.internal/app');
    expect(finished.data.redacted).toEqual(
      expect.arrayContaining([
        'url-credentials',
        'openai-key',
        'github-token',
        'aws-access-key-id',
        'slack-token',
        'jwt',
        'private-key',
        'secret-assignment',
      ]),
    );
    // Neither the printed events nor the server's files on disk hold any of them.
    const raw = `${result.stdout}\n${result.stderr}`;
    const store = (
      await execa(
        'grep',
        [
          '-rlaF',
          '-e',
          secrets.url,
          '-e',
          secrets.openai,
          '-e',
          secrets.github,
          '-e',
          secrets.aws,
          '-e',
          secrets.jwt,
          '-e',
          secrets.key,
          '-e',
          'MIIBOgIBAAJBAKj34',
          server.dir,
        ],
        { reject: false },
      )
    ).stdout;
    for (const value of Object.values(secrets)) expect(raw).not.toContain(value);
    expect(store).toBe('');
  });
});

/** A task per command, each independent, so that one refusal does not hide the next. */
const taskList = (commands: string[]) =>
  commands.map((c, i) => `- [ ] ${i + 1}. Step ${i + 1}\n  - Depends: none\n  \`\`\`bash\n  ${c}\n  \`\`\`\n`).join('');
const outputOf = (events: Parameters<typeof of>[0], taskId: string) =>
  of(events, 'CommandFinished')
    .filter((e) => e.taskId === taskId && e.data.purpose === 'plan')
    .map((e) => `${e.data.stdoutTail}${e.data.stderrTail}`)
    .join('\n');

describe.skipIf(!bwrapWorks)(
  'what a confined command can reach (real bubblewrap; each checked to get through with sandbox "none")',
  () => {
    it.each(['bwrap', 'none'])(
      'reads no canary in the home: another project .env, a tool token, shell history, cargo credentials (sandbox %s)',
      async (mode) => {
        const home = await outsideFolder('readhome-');
        try {
          const canaries = {
            'projects/other/.env': 'canary-env-4711',
            '.config/sometool/token': 'canary-token-4711',
            '.bash_history': 'canary-history-4711',
            '.cargo/credentials.toml': 'canary-cargo-4711',
          };
          for (const [path, text] of Object.entries(canaries)) {
            await mkdir(join(home, path, '..'), { recursive: true });
            await writeFile(join(home, path), `${text}\n`);
          }
          const w = await ws.make(taskList(Object.keys(canaries).map((p) => `cat "$REAL_HOME/${p}"`)));
          await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ sandbox: mode }));
          const { events } = await runCli(
            ['run', w.tasks, '--workdir', w.dir, '--continue', 'always'],
            { NATS_URL: server.url, HOME: home, REAL_HOME: home, PATH: process.env.PATH ?? '' },
            w.dir,
          );
          Object.values(canaries).forEach((text, i) => {
            if (mode === 'bwrap') expect(outputOf(events, String(i + 1))).not.toContain(text);
            else expect(outputOf(events, String(i + 1))).toContain(text);
          });
        } finally {
          await rm(home, { recursive: true, force: true });
        }
      },
    );

    it.each(['bwrap', 'none'])(
      'cannot connect to the SSH agent or a container engine socket outside the working directory (sandbox %s)',
      async (mode) => {
        const outside = await outsideFolder('sockets-');
        const { createServer } = await import('node:net');
        const servers = ['agent.sock', 'docker.sock'].map((name) => {
          const server = createServer((c) => c.end('hello from the host\n'));
          server.listen(join(outside, name));
          return server;
        });
        try {
          const connect = (variable: string) =>
            `python3 -c "import socket,os; s=socket.socket(socket.AF_UNIX); s.connect(os.environ['${variable}']); print(s.recv(64).decode())"`;
          const w = await ws.make(taskList([connect('AGENT_PATH'), connect('ENGINE_PATH')]));
          await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ sandbox: mode }));
          const env = {
            NATS_URL: server.url,
            HOME: process.env.HOME ?? '/root',
            PATH: process.env.PATH ?? '',
            SSH_AUTH_SOCK: join(outside, 'agent.sock'),
            AGENT_PATH: join(outside, 'agent.sock'),
            DOCKER_HOST: `unix://${join(outside, 'docker.sock')}`,
            ENGINE_PATH: join(outside, 'docker.sock'),
          };
          const { events } = await runCli(['run', w.tasks, '--workdir', w.dir, '--continue', 'always'], env, w.dir);
          for (const task of ['1', '2']) {
            if (mode === 'bwrap') {
              expect(outputOf(events, task)).not.toContain('hello from the host');
              expect(outputOf(events, task)).toMatch(/ConnectionRefusedError|Connection refused/);
            } else expect(outputOf(events, task)).toContain('hello from the host');
          }
        } finally {
          for (const s of servers) s.close();
          await rm(outside, { recursive: true, force: true });
        }
      },
    );

    it.each(['bwrap', 'none'])(
      'plants no git hook and no core.fsmonitor, while git init, add, commit, checkout -b and tag work (sandbox %s)',
      async (mode) => {
        const w = await ws.make('');
        const git = (...args: string[]) =>
          execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: w.dir });
        await git('init', '-q');
        await writeFile(join(w.dir, 'README.md'), 'hi\n');
        await git('add', 'README.md');
        await git('commit', '-qm', 'first');
        const id = '-c user.name=t -c user.email=t@example.com';
        await writeFile(
          w.tasks,
          taskList([
            "printf '#!/bin/sh\\ntouch /var/tmp/ia-pwned\\n' > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout",
            "git config core.fsmonitor 'touch /var/tmp/ia-pwned'",
            `echo more >> README.md && git add README.md && git ${id} commit -qm second && git checkout -qb feature && git tag v1`,
            `mkdir fresh && cd fresh && git init -q && git ${id} commit -q --allow-empty -m init`,
          ]),
        );
        await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ sandbox: mode }));
        const { events } = await runCli(
          ['run', w.tasks, '--workdir', w.dir, '--continue', 'always', '--force'],
          { NATS_URL: server.url, HOME: process.env.HOME ?? '/root', PATH: process.env.PATH ?? '' },
          w.dir,
        );
        const outcome = (task: string) =>
          [...of(events, 'TaskCompleted'), ...of(events, 'TaskFailed')].find((e) => e.taskId === task)?.type;
        expect(outcome('3')).toBe('TaskCompleted');
        expect(outcome('4')).toBe('TaskCompleted');
        expect((await execa('git', ['tag'], { cwd: w.dir })).stdout).toBe('v1');
        const planted = existsSync(join(w.dir, '.git/hooks/post-checkout'));
        const fsmonitor = (await execa('git', ['config', '--get', 'core.fsmonitor'], { cwd: w.dir, reject: false }))
          .stdout;
        if (mode === 'bwrap') {
          expect([outcome('1'), outcome('2'), planted, fsmonitor]).toEqual(['TaskFailed', 'TaskFailed', false, '']);
        } else {
          expect([outcome('1'), outcome('2'), planted, fsmonitor]).toEqual([
            'TaskCompleted',
            'TaskCompleted',
            true,
            'touch /var/tmp/ia-pwned',
          ]);
        }
      },
    );
  },
);
