import { describe, expect, it } from 'vitest';
import { readableFromHome, socketsToHide, toolchainHomes, userGitConfig, writablePaths } from '../src/exec/sandbox.ts';

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
  it('hides the privileged sockets that exist, the SSH agent and DOCKER_HOST included, unless sandbox.sockets keeps them', () => {
    const env = { SSH_AUTH_SOCK: '/home/ann/agent.sock', DOCKER_HOST: 'unix:///run/docker.sock' };
    expect(socketsToHide(env, [], exists).sort()).toEqual(['/home/ann/agent.sock', '/run/docker.sock', '/run/user']);
    expect(socketsToHide(env, ['/run/docker.sock'], exists).sort()).toEqual(['/home/ann/agent.sock', '/run/user']);
  });
});
