import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA_FILE, configJsonSchema, loadConfig } from '../src/config.ts';
import { AgentEventSchema } from '../src/events/agent-events.ts';
import { ExecuteTaskSchema } from '../src/events/work-commands.ts';
import { PatternDb, exampleFailure } from '../src/recovery/pattern-db.ts';
import { REPO_ROOT } from './helpers/nats.ts';

async function withConfig(config: unknown) {
  const dir = await mkdtemp(join(tmpdir(), 'ia-config-'));
  try {
    await writeFile(join(dir, 'implement-agent.config.json'), JSON.stringify(config));
    return await loadConfig({ cwd: dir, env: {} });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('configuration', () => {
  it('refuses an unknown recovery effect or policy rule, naming the field and the known names', async () => {
    await expect(withConfig({ recovery: { allow: ['install-anything'] } })).rejects.toThrow(
      /invalid configuration at recovery.allow.0 \(line 1, column \d+\): unknown strategy effect "install-anything"; known effects: creates-paths, .*installs-network/,
    );
    await expect(withConfig({ policy: { allow: ['nosuchrule'] } })).rejects.toThrow(
      /invalid configuration at policy.allow.0 \(line 1, column \d+\): unknown policy rule "nosuchrule"; known rules: privileged, /,
    );
  });

  it('lists every problem of a config file at its line and column, and invalid JSON at its line and column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ia-config-'));
    try {
      const file = join(dir, 'implement-agent.config.json');
      await writeFile(
        file,
        '{\n  "execution": {\n    "taskConcurrency": 100,\n    "commandConcurrency": 0\n  },\n  "policy": { "allow": ["nosuch"] }\n}\n',
      );
      const error = await loadConfig({ cwd: dir, env: {} }).catch((e: unknown) => e as Error);
      expect((error as Error).message.split('\n')).toEqual([
        `${file}: invalid configuration at execution.taskConcurrency (line 3, column 24): Too big: expected number to be <=64`,
        '  and at execution.commandConcurrency (line 4, column 27): Too small: expected number to be >=1',
        expect.stringMatching(/^ {2}and at policy.allow.0 \(line 6, column 25\): unknown policy rule "nosuch"/),
      ]);
      await writeFile(file, '{\n  "llm": {\n    "model": "x",\n  }\n}\n');
      await expect(loadConfig({ cwd: dir, env: {} })).rejects.toThrow(
        `${file}: config is not valid JSON at line 4, column 3: `,
      );
      // A value from the environment has no place in the file.
      await writeFile(file, '{}');
      await expect(
        loadConfig({ cwd: dir, env: { IMPLEMENT_AGENT_MODEL: '' }, flags: { llm: { timeoutMs: -1 } } }),
      ).rejects.toThrow(/invalid configuration at llm.timeoutMs: Too small/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps network installs and killing processes off unless allowed', async () => {
    expect((await withConfig({})).recovery.allow).toEqual([]);
    expect(
      (await withConfig({ recovery: { allow: ['kills-processes'] }, policy: { allow: ['system-packages'] } })).recovery
        .allow,
    ).toEqual(['kills-processes']);
  });

  it('gives commands an outbound network by default, and reads the old network true/false as outbound/none', async () => {
    expect((await withConfig({})).sandbox.network).toBe('outbound');
    expect((await withConfig({ sandbox: { network: true } })).sandbox.network).toBe('outbound');
    expect((await withConfig({ sandbox: { network: false } })).sandbox.network).toBe('none');
    expect((await withConfig({ sandbox: { network: 'host' } })).sandbox.network).toBe('host');
    await expect(withConfig({ sandbox: { network: 'lan' } })).rejects.toThrow(
      /invalid configuration at sandbox.network/,
    );
  });

  it('refuses a duration a timer cannot wait (over 2^31-1 ms), naming the key, instead of firing at once', async () => {
    await expect(withConfig({ execution: { commandTimeoutMs: 2 ** 31 } })).rejects.toThrow(
      /invalid configuration at execution.commandTimeoutMs \(line 1, column \d+\): at most 2147483647 ms/,
    );
    await expect(withConfig({ llm: { timeoutMs: 1e12 } })).rejects.toThrow(
      /at llm.timeoutMs \(line 1, column \d+\): at most/,
    );
    expect((await withConfig({ execution: { commandTimeoutMs: 2 ** 31 - 1 } })).execution.commandTimeoutMs).toBe(
      2 ** 31 - 1,
    );
  });

  it('limits every command by default: memory, processes, CPU time', async () => {
    expect((await withConfig({})).execution.limits).toEqual({ memoryMiB: 8192, processes: 4096, cpuSeconds: 3600 });
  });
});

describe('documented formats', () => {
  it('ships the JSON Schema of the config file as generated from the zod schema', async () => {
    const shipped = JSON.parse(await readFile(join(REPO_ROOT, CONFIG_SCHEMA_FILE), 'utf8')) as unknown;
    expect(shipped, 'regenerate it: implement-agent config --schema > implement-agent.config.schema.json').toEqual(
      configJsonSchema(),
    );
  });

  it('accepts the example pattern file, and says what a pattern file looks like when given something else', async () => {
    const example = await PatternDb.load(join(REPO_ROOT, 'examples/patterns.json'));
    expect(example.patterns.map((p) => p.id)).toEqual(['pnpm-lockfile-outdated', 'migrations-pending']);
    for (const p of example.patterns) {
      for (const e of p.examples) expect(example.match(exampleFailure(e))[0]?.pattern.id).toBe(p.id);
    }
    expect(() => PatternDb.parse([], 'p.json')).toThrow(
      /p.json: invalid pattern file at its top: .*a pattern file is \{"version": 1, "patterns": \[...\]\}; examples\/patterns.json/,
    );
  });
});

describe('concurrency, split in two', () => {
  it('refuses the old execution.concurrency, naming the two settings that replace it', async () => {
    await expect(withConfig({ execution: { concurrency: 4 } })).rejects.toThrow(
      /execution.concurrency was split in two: execution.taskConcurrency \(tasks at once\) and execution.commandConcurrency \(commands of one task at once\)/,
    );
    expect((await withConfig({ execution: { taskConcurrency: 2, commandConcurrency: 5 } })).execution).toMatchObject({
      taskConcurrency: 2,
      commandConcurrency: 5,
    });
  });

  it('reads a RunStarted written flat, and one and an ExecuteTask written before the split with their one concurrency as both', () => {
    const legacy = {
      id: 'r:RunStarted',
      v: 1,
      type: 'RunStarted',
      runId: 'r',
      at: '2026-11-01T00:00:00.000Z',
      data: {
        tasksFile: 't',
        workdir: '.',
        taskIds: [],
        alreadyDone: [],
        concurrency: 4,
        continuePolicy: 'always',
        llm: 'offline',
      },
    };
    const parsed = AgentEventSchema.parse(legacy);
    // Written flat, before the options were nested: read as `options`, the run's own fields beside them.
    expect(parsed.type === 'RunStarted' && parsed.data).toEqual({
      tasksFile: 't',
      workdir: '.',
      taskIds: [],
      alreadyDone: [],
      options: {
        taskConcurrency: 4,
        commandConcurrency: 4,
        continuePolicy: 'always',
        llm: 'offline',
        planAhead: 0,
        skipOptional: false,
      },
    });
    const withBudget = AgentEventSchema.parse({
      ...legacy,
      data: { ...legacy.data, budget: { tokens: 500 }, skipOptional: true },
    });
    expect(withBudget.type === 'RunStarted' && withBudget.data.options).toMatchObject({
      budget: { tokens: 500 },
      skipOptional: true,
    });
    const item = ExecuteTaskSchema.parse({
      runId: 'r',
      taskId: '1',
      workdir: '.',
      plan: {
        complexity: { level: 'low', estimatedSteps: 1, risks: [], confidence: 1 },
        commands: [],
        decisionPoints: [],
        successCriteria: [],
      },
      planEventId: 'p',
      llm: 'offline',
      concurrency: 2,
    });
    expect(item.commandConcurrency).toBe(2);
  });
});

describe('the reference workflow is not a setting', () => {
  it('refuses the old optimizations switches, saying where the reference workflow lives now', async () => {
    await expect(withConfig({ optimizations: { planCache: false } })).rejects.toThrow(
      /optimizations is no longer a setting: .*bench\/reference.ts/,
    );
  });
});
