import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsJsonSchema, EVENTS_SCHEMA_FILE } from '../../src/events/events-schema.ts';
import { runCli, workspaces } from '../helpers/cli.ts';
import { natsPerSuite, REPO_ROOT } from '../helpers/nats.ts';

const nats = natsPerSuite();
const spaces = workspaces();
afterAll(() => spaces.cleanup());

// Commands that succeed, one whose check fails, and one skipped after it: most event types of a run.
const TASKS = `# Plan
- [ ] 1. Write a
  - Success: file a.txt exists
  \`\`\`bash
  printf 'a\\n' > a.txt
  \`\`\`
- [ ] 2. Fail
  - Depends: 1
  \`\`\`bash
  exit 3
  \`\`\`
- [ ] 3. After the failure
  - Depends: 2
  \`\`\`bash
  true
  \`\`\`
`;

describe('the --json event schema', () => {
  it(`is ${EVENTS_SCHEMA_FILE} as the event union generates it`, async () => {
    const shipped = JSON.parse(await readFile(join(REPO_ROOT, EVENTS_SCHEMA_FILE), 'utf8')) as unknown;
    expect(shipped, 'regenerate it: npm run docs').toEqual(eventsJsonSchema());
  });

  it("validates every line of a real run's --json, which ends with RunFinished", async () => {
    const { dir, tasks } = await spaces.make(TASKS);
    const { result } = await runCli(['run', tasks, '--workdir', dir], { NATS_URL: nats.url });
    expect(result.exitCode, result.stderr).toBe(1);
    const lines = result.stdout.split('\n').filter(Boolean);
    const validate = new Ajv2020({ strict: false }).compile(
      JSON.parse(await readFile(join(REPO_ROOT, EVENTS_SCHEMA_FILE), 'utf8')) as object,
    );
    for (const line of lines)
      expect(validate(JSON.parse(line)), `${line}\n${JSON.stringify(validate.errors)}`).toBe(true);
    const types = lines.map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types).toEqual(expect.arrayContaining(['RunStarted', 'CommandFinished', 'TaskCompleted', 'TaskFailed']));
    expect(types.at(-1)).toBe('RunFinished');
    // Its outcome counts, duration and tokens (no LLM here: none).
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({
      data: { status: 'failed', completed: ['1'], failed: ['2'], skipped: ['3'], tokens: 0 },
    });
    // The schema is no pass-all: a line without its sequence, or of an unknown type, is refused.
    const { seq: _, ...unnumbered } = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(validate(unnumbered)).toBe(false);
    expect(validate({ ...(JSON.parse(lines[0]!) as object), type: 'RunExploded' })).toBe(false);
  }, 120_000);
});
