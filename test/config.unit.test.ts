import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA_FILE, configJsonSchema, loadConfig } from '../src/config.ts';
import { PatternDb } from '../src/recovery/pattern-db.ts';
import { REPO_ROOT } from './helpers/nats.ts';

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

describe('documented formats', () => {
  it('ships the JSON Schema of the config file as generated from the zod schema', async () => {
    const shipped = JSON.parse(await readFile(join(REPO_ROOT, CONFIG_SCHEMA_FILE), 'utf8')) as unknown;
    expect(shipped, 'regenerate it: implement-agent config --schema > implement-agent.config.schema.json').toEqual(configJsonSchema());
  });

  it('accepts the example pattern file, and says what a pattern file looks like when given something else', async () => {
    const example = await PatternDb.load(join(REPO_ROOT, 'examples/patterns.json'));
    expect(example.patterns.map((p) => p.id)).toEqual(['pnpm-lockfile-outdated', 'migrations-pending']);
    for (const p of example.patterns) {
      for (const e of p.examples) expect(example.match({ ...e, timedOut: false })[0]?.pattern.id).toBe(p.id);
    }
    expect(() => PatternDb.parse([], 'p.json')).toThrow(/p.json: invalid pattern file at its top: .*a pattern file is \{"version": 1, "patterns": \[...\]\}; examples\/patterns.json/);
  });
});
