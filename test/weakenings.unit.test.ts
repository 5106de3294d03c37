import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/config.ts';
import { weakeningLine, weakeningSettings } from '../src/weakenings.ts';

const origin = { file: '/p/implement-agent.config.json', home: '/home/ann', cwd: '/p' };
const of = (config: unknown, bwrapProblem?: string) =>
  weakeningSettings(ConfigSchema.parse(config), { ...origin, bwrapProblem });

describe('the settings that weaken confinement', () => {
  it('names sandbox.mode "none" and each allowed deny rule, with the file they come from', () => {
    const found = of({ sandbox: { mode: 'none' }, policy: { allow: ['outside-workdir', 'privileged'] } });
    expect(found.map((w) => `${w.setting} ${w.value}`)).toEqual([
      'sandbox.mode "none"',
      'policy.allow "outside-workdir"',
      'policy.allow "privileged"',
    ]);
    expect(found.every((w) => w.source === `set in ${origin.file}`)).toBe(true);
    expect(weakeningLine(found[1]!)).toBe(
      `unsafe: policy.allow "outside-workdir" (set in ${origin.file}): a command that deletes, overwrites or changes permissions of a path outside the working directory is no longer denied`,
    );
  });

  it('names a fallback to none where bubblewrap does not work, saying why', () => {
    const [fallback] = of({ sandbox: { mode: 'auto', network: false } }, 'No permissions to creating new namespace');
    expect(fallback).toMatchObject({
      setting: 'sandbox.mode',
      source: 'bubblewrap does not work here: No permissions to creating new namespace',
    });
    expect(of({ sandbox: { mode: 'bwrap', network: false } }, 'ignored: bwrap mode refuses to run')).toEqual([]);
  });

  it("names the host's network, writable folders, readable home paths and kept sockets, each resolved", () => {
    const found = of({
      sandbox: {
        network: 'host',
        writable: ['~/.cache/pip', 'out'],
        readable: ['~/.m2', '/opt/sdk', '/home/bob/lib'],
        sockets: ['/var/run/docker.sock'],
      },
    });
    expect(found.map((w) => `${w.setting}: ${w.effect.split(':')[0]}`)).toEqual([
      "sandbox.network: commands share the host's network",
      'sandbox.writable: commands may write /home/ann/.cache/pip',
      'sandbox.writable: commands may write /p/out',
      'sandbox.readable: commands may read /home/ann/.m2',
      'sandbox.readable: commands may read /home/bob/lib',
      'sandbox.sockets: commands may connect to /var/run/docker.sock',
    ]);
  });

  it('says nothing of a confined configuration', () => {
    expect(of({ sandbox: { mode: 'bwrap', network: false, readable: ['/opt/sdk'] } })).toEqual([]);
  });
});
