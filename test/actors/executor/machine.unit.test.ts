import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, toPromise } from 'xstate';
import { executorMachine } from '../../../src/actors/executor/machine.ts';
import type { CommandOutcome, ExecutorInput, RecoveryRecord } from '../../../src/actors/executor/types.ts';
import type { RecoverReply } from '../../../src/events/work-commands.ts';
import { buildCommandGraph } from '../../../src/exec/command-graph.ts';
import { explicitPlan } from '../../../src/plan/explicit-plan.ts';
import type { Plan } from '../../../src/plan/plan-schema.ts';
import { parseTasks } from '../../../src/tasklist/tasks-parser.ts';

const ok: CommandOutcome = { ok: true, exitCode: 0, timedOut: false, stdoutTail: '', stderrTail: '' };
const fail = (stderr: string): CommandOutcome => ({
  ok: false,
  exitCode: 1,
  timedOut: false,
  stdoutTail: '',
  stderrTail: stderr,
});

/** The machine with scripted effects: which commands ran, in which order, with what outcome. */
async function execute(
  plan: Plan,
  script: {
    outcome?: (id: string, attempt: number) => CommandOutcome;
    recover?: RecoverReply[];
    decisions?: Record<string, boolean>;
    concurrency?: number;
    /** What a benign verdict's state check comes to. */
    holds?: (check: string) => CommandOutcome;
  } = {},
) {
  const ran: string[] = [];
  const records: RecoveryRecord[] = [];
  const replies = [...(script.recover ?? [])];
  let running = 0;
  let maxRunning = 0;
  const input: ExecutorInput = {
    plan,
    deps: buildCommandGraph(plan.commands).deps,
    commandConcurrency: script.concurrency ?? 3,
    maxRecoveryAttempts: 4,
  };
  const actor = createActor(
    executorMachine.provide({
      actors: {
        runCommand: fromPromise(async ({ input: c }) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          ran.push(`${c.commandId}#${c.attempt}`);
          await new Promise((r) => setTimeout(r, 5));
          running--;
          return script.outcome?.(c.commandId, c.attempt) ?? ok;
        }),
        evaluateDecision: fromPromise(async ({ input: d }) => script.decisions?.[d.id] ?? false),
        recover: fromPromise(async () => replies.shift() ?? { decision: 'give-up' as const, reason: 'nothing left' }),
        runFix: fromPromise(async ({ input: f }) => {
          ran.push(`fix:${f.commands.join(';')}`);
          return ok;
        }),
        confirmBenign: fromPromise(async ({ input: b }) => {
          ran.push(`holds:${b.check}`);
          return script.holds?.(b.check) ?? ok;
        }),
        verify: fromPromise(async (): Promise<{ ok: true } | { ok: false; reason: string }> => ({ ok: true })),
      },
      actions: { recordRecovery: (_, r) => void records.push(r) },
    }),
    { input },
  );
  actor.start();
  return { output: await toPromise(actor), ran, records, maxRunning };
}

const plan = (commands: string): Plan =>
  explicitPlan(parseTasks(`- [ ] 1. T\n  \`\`\`bash\n${commands}\n  \`\`\``)[0]!);

describe('executor machine', () => {
  it('runs independent commands together within the limit, then the dependent one', async () => {
    const p = plan('  echo 1 > a\n  echo 2 > b\n  echo 3 > c\n  cat a b c > d');
    const limited = await execute(p, { concurrency: 2 });
    expect(limited.output).toEqual({ ok: true, commands: 4, recoveries: 0, evidence: 'commands' });
    expect(limited.maxRunning).toBe(2);
    expect(limited.ran.at(-1)).toBe('c4#0');
    expect((await execute(p, { concurrency: 3 })).maxRunning).toBe(3);
  });

  it('takes the branch a decision point chooses and skips the other', async () => {
    const p: Plan = {
      ...plan('  echo yes > y\n  echo no > n\n  echo always > z'),
      decisionPoints: [
        {
          id: 'd1',
          condition: 'has config',
          evaluation: 'file_exists',
          target: 'config.json',
          whenTrue: ['c1'],
          whenFalse: ['c2'],
        },
      ],
    };
    const t = await execute(p, { decisions: { d1: true } });
    expect(t.ran.sort()).toEqual(['c1#0', 'c3#0']);
    const f = await execute(p, { decisions: { d1: false } });
    expect(f.ran.sort()).toEqual(['c2#0', 'c3#0']);
    expect(f.output.ok).toBe(true);
  });

  it('stops starting commands on a failure, fixes, retries, and records the outcome', async () => {
    const p = plan('  mkdir a/b\n  touch later');
    const r = await execute(p, {
      outcome: (id, attempt) => (id === 'c1' && attempt === 0 ? fail('no such dir') : ok),
      recover: [
        {
          decision: 'fix',
          strategyId: 'x/mkdir-p',
          patternId: 'x',
          source: 'pattern',
          commands: ['mkdir -p a'],
          retry: true,
        },
      ],
      concurrency: 1,
    });
    expect(r.ran).toEqual(['c1#0', 'fix:mkdir -p a', 'c1#1', 'c2#0']);
    expect(r.output).toEqual({ ok: true, commands: 2, recoveries: 1, evidence: 'commands' });
    expect(r.records).toEqual([expect.objectContaining({ commandId: 'c1', resolved: true })]);
  });

  it('takes a benign verdict only when its state check holds, and asks again when it does not', async () => {
    const nothing = fail('no changes added to commit');
    const benign: RecoverReply = {
      decision: 'benign',
      patternId: 'git-nothing-to-commit',
      strategyId: 'git-nothing-to-commit/benign',
      holds: 'test -z "$(git status --porcelain)"',
    };
    // given a clean tree: the failure is benign, the command done
    const clean = await execute(plan('  git commit -m x'), { outcome: () => nothing, recover: [benign] });
    expect(clean.ran).toEqual(['c1#0', 'holds:test -z "$(git status --porcelain)"']);
    expect(clean.output).toMatchObject({ ok: true, commands: 1 });
    expect(clean.records).toEqual([expect.objectContaining({ resolved: true })]);
    // given a change left unstaged: the check fails, the verdict is recorded refuted, recovery goes on (and gives up)
    const dirty = await execute(plan('  git commit -m x'), {
      outcome: () => nothing,
      recover: [benign],
      holds: () => ({ ...fail(''), exitCode: 1 }),
    });
    expect(dirty.output).toMatchObject({
      ok: false,
      stage: 'recovery',
      reason: expect.stringMatching(/nothing left$/),
    });
    expect(dirty.records).toEqual([
      expect.objectContaining({
        resolved: false,
        reason: 'not benign: the state does not show it (`test -z "$(git status --porcelain)"` exited 1)',
      }),
    ]);
  });

  it('fails with the reason when recovery gives up, and after the attempt bound', async () => {
    const gaveUp = await execute(plan('  false'), { outcome: () => fail('boom') });
    expect(gaveUp.output).toMatchObject({
      ok: false,
      stage: 'recovery',
      reason: '`false` exited 1: boom; nothing left',
      commandId: 'c1',
    });
    const fix: RecoverReply = { decision: 'fix', strategyId: 's', source: 'pattern', commands: ['true'], retry: true };
    const bounded = await execute(plan('  false'), {
      outcome: () => fail('boom'),
      recover: [fix, fix, fix, fix, fix, fix],
    });
    expect(bounded.output).toMatchObject({
      ok: false,
      stage: 'recovery',
      reason: expect.stringMatching(/gave up after 4 recovery attempts$/),
    });
  });

  it("has no evidence when an LLM fix did a failed command's work instead of re-running it, unless criteria then hold", async () => {
    const replace: RecoverReply = {
      decision: 'fix',
      strategyId: 'llm/abc',
      source: 'llm',
      commands: ['echo done > out'],
      retry: false,
    };
    const replaced = await execute(plan('  ./build.sh'), {
      outcome: (_, attempt) => (attempt === 0 ? fail('not found') : ok),
      recover: [replace],
    });
    expect(replaced.output).toEqual({ ok: true, commands: 1, recoveries: 1, evidence: 'none' });
    const checked = await execute(
      { ...plan('  ./build.sh'), successCriteria: [{ kind: 'file_exists', path: 'out' }] },
      { outcome: (_, attempt) => (attempt === 0 ? fail('not found') : ok), recover: [replace] },
    );
    expect(checked.output).toMatchObject({ ok: true, evidence: 'criteria' });
    // A prepare-and-retry fix re-ran the command itself: its success is the evidence.
    const retried = await execute(plan('  ./build.sh'), {
      outcome: (_, attempt) => (attempt === 0 ? fail('not found') : ok),
      recover: [{ ...replace, retry: true }],
    });
    expect(retried.output).toMatchObject({ ok: true, evidence: 'commands' });
  });
});
