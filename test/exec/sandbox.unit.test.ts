import { describe, expect, it } from 'vitest';
import { readableFromHome, secretsOf, toolchainHomes, userGitConfig, writablePaths } from '../../src/exec/sandbox.ts';
import { configFiles, hostSockets } from '../../src/exec/sandbox-mounts.ts';
import { commandTimeoutMs } from '../../src/exec/limits.ts';
import { vanishedMount } from '../../src/exec/confined-run.ts';

describe('toolchain homes for confined commands', () => {
  const present = new Set(['/home/u/.rustup', '/home/u/.pyenv', '/home/u/.local/share/mise']);
  const exists = (p: string) => present.has(p);

  it('points each toolchain manager whose folder is in the real home at it', () => {
    expect(toolchainHomes('/home/u', {}, exists)).toEqual({
      RUSTUP_HOME: '/home/u/.rustup',
      PYENV_ROOT: '/home/u/.pyenv',
      MISE_DATA_DIR: '/home/u/.local/share/mise',
    });
  });

  it('keeps a variable the user set, and names no folder that is not there', () => {
    expect(toolchainHomes('/home/u', { PYENV_ROOT: '/opt/pyenv' }, exists)).toEqual({
      RUSTUP_HOME: '/home/u/.rustup',
      MISE_DATA_DIR: '/home/u/.local/share/mise',
    });
    expect(toolchainHomes('/home/v', {}, exists)).toEqual({});
  });
});

describe('sandbox.writable', () => {
  it('reads `~/` as the real home and a relative path from the current folder', () => {
    expect(writablePaths(['~/.m2', '~', '../cache', '/srv/shared'], '/home/u', '/work/app')).toEqual([
      '/home/u/.m2',
      '/home/u',
      '/work/cache',
      '/srv/shared',
    ]);
  });
});

describe("the user's git configuration for confined commands", () => {
  it('is the real ~/.gitconfig, else ~/.config/git/config, unless GIT_CONFIG_GLOBAL says otherwise', () => {
    expect(
      userGitConfig('/home/u', {}, (p) => p === '/home/u/.gitconfig' || p === '/home/u/.config/git/config'),
    ).toEqual({ GIT_CONFIG_GLOBAL: '/home/u/.gitconfig' });
    expect(userGitConfig('/home/u', {}, (p) => p === '/home/u/.config/git/config')).toEqual({
      GIT_CONFIG_GLOBAL: '/home/u/.config/git/config',
    });
    expect(userGitConfig('/home/u', { GIT_CONFIG_GLOBAL: '/etc/team.gitconfig' }, () => true)).toEqual({});
    expect(userGitConfig('/home/u', {}, () => false)).toEqual({});
  });
});

describe('what the homes show inside the sandbox', () => {
  const present = new Set([
    '/home/ann/.rustup',
    '/home/ann/.gitconfig',
    '/home/ann/.local/bin',
    '/home/ann/.cargo/bin',
    '/opt/py',
    '/home/ann/notes',
    '/run/docker.sock',
    '/run/user',
    '/home/ann/agent.sock',
  ]);
  const exists = (p: string) => present.has(p);
  it('only toolchains, git config, PATH folders in a home, variables already set and sandbox.readable', () => {
    const env = { PATH: '/home/ann/.local/bin:/usr/bin:/home/ann/.cargo/bin:/home/bob/bin', PYENV_ROOT: '/opt/py' };
    const { pointers, paths } = readableFromHome('/home/ann', env, ['~/notes', '~/missing'], '/work', exists);
    expect(pointers).toEqual({ RUSTUP_HOME: '/home/ann/.rustup', GIT_CONFIG_GLOBAL: '/home/ann/.gitconfig' });
    expect(paths.sort()).toEqual([
      '/home/ann/.cargo/bin',
      '/home/ann/.gitconfig',
      '/home/ann/.local/bin',
      '/home/ann/.rustup',
      '/home/ann/notes',
      '/opt/py',
    ]);
  });
  it('hides every socket bound on the host (not by name) but those in the working directory, private folders, hidden homes, or kept', () => {
    const listing = [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '0000000000000000: 00000002 00000000 00010000 0001 01 1001 /var/lib/db/db.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 1002 /run/docker.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 1003 /var/tmp/x.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 1004 /work/app/dev.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 1005 @abstract',
      '0000000000000000: 00000002 00000000 00010000 0001 01 1006 /home/ann/.gnupg/S.gpg-agent',
      '0000000000000000: 00000002 00000000 00010000 0001 01 1007 /home/ann/notes/app.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 1008 /srv/keep.sock',
      '0000000000000000: 00000002 00000000 00010000 0001 01 1009',
    ].join('\n');
    const options = { workdir: '/work/app', homes: ['/home', '/home/ann'], readable: ['/home/ann/notes'] };
    expect(hostSockets(listing, { ...options, keep: [] }).sort()).toEqual([
      '/home/ann/notes/app.sock',
      '/srv/keep.sock',
      '/var/lib/db/db.sock',
    ]);
    expect(hostSockets(listing, { ...options, keep: ['/srv/keep.sock'] })).not.toContain('/srv/keep.sock');
  });
});

describe('what a command may not outgrow', () => {
  it("takes a plan's shorter timeout, never a longer one than the config gives", () => {
    expect(commandTimeoutMs(5000, 300_000)).toBe(5000);
    expect(commandTimeoutMs(86_400_000, 300_000)).toBe(300_000);
    expect(commandTimeoutMs(undefined, 300_000)).toBe(300_000);
  });
  it("names the config files in the working directory, the current folder's only when inside it", () => {
    expect(configFiles('/work/app', '/work/app/sub')).toEqual([
      '/work/app/implement-agent.config.json',
      '/work/app/sub/implement-agent.config.json',
    ]);
    expect(configFiles('/work/app', '/elsewhere')).toEqual(['/work/app/implement-agent.config.json']);
  });
});

describe('credentials hidden from commands', () => {
  it('hides the credential files named, and the whole folder a cluster was made in', () => {
    const exists = (p: string) => p === '/srv/ia-cluster/auth.conf';
    expect(secretsOf({ NATS_CREDS: '/srv/ia-cluster/credentials.json' }, exists)).toEqual([
      '/srv/ia-cluster/credentials.json',
      '/srv/ia-cluster',
    ]);
    expect(secretsOf({ NATS_PASSWORD_FILE: '/run/pw', NATS_CREDS: '/x/user.creds' }, exists)).toEqual([
      '/run/pw',
      '/x/user.creds',
    ]);
  });
});

describe('a mount whose place vanished', () => {
  it('is a setup failure of bwrap worth running again only when the path named is gone', () => {
    const stderr = (path: string) => `bwrap: Can't mkdir parents for ${path}: Read-only file system\n`;
    expect(vanishedMount({ exitCode: 1, stderrTail: stderr('/tmp/no-such-folder-ia/docker.sock') })).toBe(true);
    expect(vanishedMount({ exitCode: 1, stderrTail: stderr('/etc') })).toBe(false);
    expect(vanishedMount({ exitCode: 0, stderrTail: stderr('/tmp/no-such-folder-ia/x') })).toBe(false);
    expect(vanishedMount({ exitCode: 1, stderrTail: 'cat: x: No such file or directory\n' })).toBe(false);
  });
});
