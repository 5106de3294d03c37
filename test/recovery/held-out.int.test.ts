import { recovererPorts } from '../../src/host/actor-ports.ts';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdvisor, type Advisor } from '../../src/actors/recoverer/advisor.ts';
import { runShellCommand } from '../../src/exec/run-command.ts';
import { liveOptions, recoverLive, type LiveOutcome } from '../helpers/live-recovery.ts';
import { REPO_ROOT } from '../helpers/nats.ts';
import { memoryRuntime } from '../helpers/runtime.ts';

/**
 * The held-out set (issue 25): real failures of the tools on this machine that no pattern was
 * written for, each recovered offline by the recoverer's whole decision procedure (patterns, the
 * strategies per kind of mistake, the guard against destroying what predates the run), as the
 * executor would run it. The share recovered is the figure in the README.
 */
type Case = {
  id: string;
  kind: string;
  batch: number;
  fixable: boolean;
  setup: string;
  command: string;
  needs?: string[];
  check?: string;
  intact?: string;
};
const SET = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/held-out-failures.json'), 'utf8')) as {
  cases: Case[];
};
const installed = (tool: string) => execaSync('bash', ['-c', `command -v ${tool}`], { reject: false }).exitCode === 0;
const cases = SET.cases.filter((c) => (c.needs ?? []).every(installed));

let root: string;
let advisor: Advisor;
const results = new Map<string, { c: Case; outcome: LiveOutcome; held: boolean }>();
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ia-held-out-'));
  advisor = await createAdvisor(await memoryRuntime({ llm: { mode: 'offline' } }), recovererPorts);
});
afterAll(async () => {
  await advisor?.stop();
  await rm(root, { recursive: true, force: true });
  for (const batch of [1, 2]) {
    const all = [...results.values()].filter((r) => r.c.batch === batch);
    const fixable = all.filter((r) => r.c.fixable);
    const unfixable = all.filter((r) => !r.c.fixable);
    const recovered = fixable.filter((r) => r.held).length;
    const escalated = unfixable.filter((r) => r.held).length;
    console.log(
      `held-out set, batch ${batch}: ${recovered}/${fixable.length} fixable recovered offline, ${escalated}/${unfixable.length} unfixable escalated with their data intact`,
    );
  }
  for (const r of results.values())
    if (!r.held)
      console.log(
        `  ${r.c.fixable ? 'not recovered' : 'not escalated'}: ${r.c.id} (${r.c.kind}): ${r.outcome.outcome}${r.outcome.why ? `: ${r.outcome.why.slice(0, 160)}` : ''}`,
      );
});

describe('the held-out set of real failures', () => {
  it.each(
    cases.map((c) => [`${c.id} (${c.kind}, ${c.fixable ? 'fixable' : 'not fixable'}): ${c.command}`, c] as const),
  )('%s', async (_, c) => {
    const dir = await mkdtemp(join(root, `${c.id}-`));
    const options = await liveOptions(root, dir);
    const setup = await runShellCommand(c.setup, options);
    expect(setup.exitCode, `${setup.stdoutTail}${setup.stderrTail}`).toBe(0);
    const failed = await runShellCommand(c.command, options);
    expect(failed.exitCode, 'the case must fail as written').not.toBe(0);
    const outcome = await recoverLive(c.command, failed, options, (request) => advisor.advise(request));
    const probe = async (command: string | undefined) =>
      command ? (await runShellCommand(command, options)).exitCode === 0 : true;
    const held = c.fixable
      ? outcome.outcome === 'recovered' && (await probe(c.check))
      : outcome.outcome === 'escalated' && (await probe(c.intact));
    results.set(c.id, { c, outcome, held });
    // An unfixable failure must never be "fixed": that is where data is lost.
    if (!c.fixable)
      expect({ outcome: outcome.outcome, intact: await probe(c.intact) }, outcome.strategies.join(', ')).toEqual({
        outcome: 'escalated',
        intact: true,
      });
  });

  it('recovers at least 80% of the fixable failures offline, and escalates every unfixable one', () => {
    const fixable = [...results.values()].filter((r) => r.c.fixable);
    const recovered = fixable.filter((r) => r.held).length;
    expect(results.size).toBe(cases.length);
    expect(
      recovered / fixable.length,
      fixable
        .filter((r) => !r.held)
        .map((r) => r.c.id)
        .join(', '),
    ).toBeGreaterThanOrEqual(0.8);
  });
});
