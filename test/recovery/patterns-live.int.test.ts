import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShellCommand } from '../../src/exec/run-command.ts';
import { choosePatternRecovery } from '../../src/recovery/choose.ts';
import { DEFAULT_PATTERNS_FILE, PatternDb } from '../../src/recovery/pattern-db.ts';
import { initialRecoveryStats } from '../../src/projections/recovery-stats.ts';
import { liveOptions, recoverLive } from '../helpers/live-recovery.ts';
import { REPO_ROOT } from '../helpers/nats.ts';

/**
 * Each pattern against the real message of the real tool, produced here in a scratch folder
 * under the executor's environment (LC_ALL=C), then recovered the way the executor does it:
 * choose a strategy (offline, default configuration), run its commands, run the command again
 * (or its rewrite), until it succeeds, is benign, or goes to a person/LLM.
 *   recovers:  a strategy of `pattern` makes the command succeed;
 *   escalates: recovery stops at `pattern`'s diagnosis, without a fix that succeeded;
 *   benign:    `pattern` says the failure means the work is done;
 *   matches:   `pattern` is the first match (its fix needs the network or another process).
 */
type Case = {
  pattern: string;
  command: string;
  setup?: string;
  needs?: string[];
  expect: 'recovers' | 'escalates' | 'benign' | 'matches';
};
const CASES = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/real-failures.json'), 'utf8')) as Case[];
const TSC = join(REPO_ROOT, 'node_modules/.bin/tsc');
const installed = (tool: string) => execaSync('bash', ['-c', `command -v ${tool}`], { reject: false }).exitCode === 0;
const missingTools = new Set(CASES.flatMap((c) => c.needs ?? []).filter((t) => !installed(t)));

const db = await PatternDb.load(DEFAULT_PATTERNS_FILE);
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ia-live-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('patterns against real tools', () => {
  it.each(CASES.map((c, i) => [`${c.pattern} (${c.expect}): ${c.command}`, c, i] as const))('%s', async (_, c, i) => {
    const absent = (c.needs ?? []).filter((t) => missingTools.has(t));
    if (absent.length) {
      console.warn(`skipped ${c.pattern}: ${absent.join(', ')} not installed`);
      return;
    }
    const dir = await mkdtemp(join(root, `case${i}-`));
    // A home of the command's own, toolchains found in the real one: as under the sandbox.
    const options = await liveOptions(root, dir);
    const command = c.command.replace('{tsc}', TSC);
    if (c.setup) expect((await runShellCommand(c.setup, options)).exitCode).toBe(0);
    const r = await runShellCommand(command, options);
    const output = `${r.stdoutTail}\n${r.stderrTail}`;
    expect(r.exitCode, output).not.toBe(0);
    const first = db.match({
      command,
      exitCode: r.exitCode,
      stdoutTail: r.stdoutTail,
      stderrTail: r.stderrTail,
      timedOut: r.timedOut,
    })[0]?.pattern.id;
    if (c.expect === 'matches') {
      expect(first, output).toBe(c.pattern);
      return;
    }
    const outcome = await recoverLive(command, r, options, async (request) => {
      const choice = choosePatternRecovery(request, db, initialRecoveryStats(), {
        allow: [],
        allowEffects: [],
        patternAttemptsBeforeLlm: 3,
      });
      return choice.kind === 'llm' ? { give: choice.why, patternId: choice.why.split(':')[0] ?? '' } : choice.reply;
    });
    expect(
      { outcome: outcome.outcome, patternId: outcome.patternId },
      `${output}\nfirst match: ${first}\n${outcome.why ?? ''}`,
    ).toEqual({
      outcome: { recovers: 'recovered', escalates: 'escalated', benign: 'benign' }[c.expect],
      patternId: c.pattern,
    });
  });
});
