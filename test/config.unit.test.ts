import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';

async function withConfig(config: unknown) {
  const dir = await mkdtemp(join(tmpdir(), 'ia-config-'));
  await writeFile(join(dir, 'implement-agent.config.json'), JSON.stringify(config));
  return loadConfig({ cwd: dir, env: {} });
}

describe('configuration', () => {
  it('refuses an unknown recovery effect or policy rule, naming the field and the known names', async () => {
    await expect(withConfig({ recovery: { allow: ['install-anything'] } })).rejects.toThrow(
      /invalid configuration at recovery.allow.0: unknown strategy effect "install-anything"; known effects: creates-paths, .*installs-network/,
    );
    await expect(withConfig({ policy: { allow: ['nosuchrule'] } })).rejects.toThrow(/invalid configuration at policy.allow.0: unknown policy rule "nosuchrule"; known rules: privileged, /);
  });

  it('keeps network installs and killing processes off unless allowed', async () => {
    expect((await withConfig({})).recovery.allow).toEqual([]);
    expect((await withConfig({ recovery: { allow: ['kills-processes'] }, policy: { allow: ['system-packages'] } })).recovery.allow).toEqual(['kills-processes']);
  });
});
