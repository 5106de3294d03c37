import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, type AgentEvent } from '../../src/events/agent-events.ts';
import { lookupPlan } from '../../src/projections/plan-cache-lookup.ts';
import { explicitPlan } from '../../src/plan/explicit-plan.ts';
import type { Plan } from '../../src/plan/plan-schema.ts';
import { adaptText, renamePairs, similarity, tokens } from '../../src/plan/similarity.ts';
import { taskKey, taskText } from '../../src/plan/task-key.ts';
import { validatePlan } from '../../src/plan/validate-plan.ts';
import { initialPlanCache, planCacheEvolver, planKeyOf, type PlanCache } from '../../src/projections/plan-cache.ts';
import { parseTasks } from '../../src/tasklist/tasks-parser.ts';

const task = (title: string, commands: string[] = []) =>
  parseTasks(
    `- [ ] 1. ${title}\n${commands.length ? `  \`\`\`bash\n${commands.map((c) => `  ${c}`).join('\n')}\n  \`\`\`` : ''}`,
  )[0]!;
const planFor = (...commands: string[]): Plan => ({ ...explicitPlan(task('x', commands)), successCriteria: [] });

/** given(events) -> the cache: the projection with no server. */
function given(events: AgentEvent[], maxEntries = 10): PlanCache {
  return events.reduce((s, e, i) => planCacheEvolver(maxEntries)(s, { ...e, seq: i + 1 }), initialPlanCache());
}
const created = (runId: string, title: string, plan: Plan, spec = 's1') =>
  makeEvent(
    'PlanCreated',
    { runId, taskId: '1' },
    {
      source: 'llm',
      taskKey: taskKey(task(title), 'c1'),
      contextChecksum: 'c1',
      specChecksum: spec,
      taskText: taskText(task(title)),
      plan,
      durationMs: 1,
      inputs: [],
      revision: 0,
    },
  );
const completed = (runId: string) =>
  makeEvent('TaskCompleted', { runId, taskId: '1' }, { durationMs: 1, commands: 1, recoveries: 0 });
const failed = (runId: string) => makeEvent('TaskFailed', { runId, taskId: '1' }, { stage: 'execution', reason: 'x' });
const query = (title: string, spec = 's1', context = 'c1') => ({
  key: taskKey(task(title), context),
  taskText: taskText(task(title)),
  contextChecksum: context,
  specChecksum: spec,
});

describe('similarity and adaptation', () => {
  it('scores same-shape tasks high and different work low', () => {
    expect(similarity('create the module file src/alpha.js', 'create the module file src/beta.js')).toBeGreaterThan(
      0.85,
    );
    expect(similarity('create the module file src/alpha.js', 'delete the production database')).toBeLessThan(0.3);
    expect(similarity('', 'x')).toBe(0);
  });

  it('finds the renames and applies them in the spellings a plan uses', () => {
    const pairs = renamePairs(
      tokens('Add the greet module in src/greet.js'),
      tokens('Add the farewell module in src/farewell.js'),
    );
    expect(pairs).toEqual([
      { from: 'greet', to: 'farewell' },
      { from: 'src/greet.js', to: 'src/farewell.js' },
    ]);
    expect(adaptText('echo "export function greet() {}" > src/greet.js # Greet GREET greeting', pairs)).toBe(
      'echo "export function farewell() {}" > src/farewell.js # Farewell FAREWELL greeting',
    );
  });
});

describe('plan cache projection and lookup', () => {
  it('serves only plans whose task completed, and drops a plan whose task failed', () => {
    expect(given([created('r1', 'Create the file a.txt', planFor('echo a > a.txt'))]).entries).toEqual({});
    const ok = given([created('r1', 'Create the file a.txt', planFor('echo a > a.txt')), completed('r1')]);
    expect(Object.keys(ok.entries)).toEqual([query('Create the file a.txt').key]);
    const dropped = given([
      created('r1', 'Create the file a.txt', planFor('echo a > a.txt')),
      completed('r1'),
      created('r2', 'Create the file a.txt', planFor('echo a > a.txt')),
      failed('r2'),
    ]);
    expect(dropped.entries).toEqual({});
  });

  it('drops the plan a reverted task ran, found from the run by planKeyOf, so the next run plans it anew', () => {
    const run = [created('r1', 'Create the file a.txt', planFor('echo a > a.txt')), completed('r1')];
    const key = planKeyOf(
      run.map((e, i) => ({ ...e, seq: i + 1 })),
      '1',
    );
    expect(key).toBe(query('Create the file a.txt').key);
    const reverted = makeEvent(
      'TaskReverted',
      { runId: 'r1', taskId: '1' },
      { restored: ['a.txt'], forced: [], stalePlan: key! },
    );
    expect(Object.keys(given(run).entries)).toEqual([key]);
    expect(given([...run, reverted]).entries).toEqual({});
    // A log written before stalePlan existed still reads, and keeps its plan.
    const { stalePlan: _, ...older } = reverted.data;
    expect(Object.keys(given([...run, { ...reverted, data: older }]).entries)).toEqual([key]);
  });

  it('serves a plan of run --dry --plan on its exact key as drafted, never as one that worked, until its task ends', () => {
    const plan = planFor('echo a > a.txt');
    const made = created('dry', 'Create the file a.txt', plan).data;
    const { source: _s, revision: _r, ...fields } = made;
    const drafted = makeEvent('PlanDrafted', { runId: 'dry', taskId: '1' }, fields);
    const cache = given([drafted]);
    expect(cache.entries).toEqual({});
    expect(lookupPlan(cache, query('Create the file a.txt'), 0.85)).toMatchObject({
      kind: 'drafted',
      entry: { plan, successes: 0 },
    });
    // Never adapted to a similar task, nor served once the files it was made from changed.
    expect(lookupPlan(cache, query('Create the file b.txt'), 0.5).kind).toBe('miss');
    expect(lookupPlan(cache, query('Create the file a.txt', 's1', 'c2'), 0.85).kind).toBe('miss');
    // The run that used it: a completed task makes it a plan that worked; a failed one drops it.
    const used = created('r1', 'Create the file a.txt', plan);
    const proven = given([drafted, used, completed('r1')]);
    expect(proven.drafts).toEqual({});
    expect(lookupPlan(proven, query('Create the file a.txt'), 0.85)).toMatchObject({
      kind: 'exact',
      entry: { successes: 1 },
    });
    const dropped = given([drafted, used, failed('r1')]);
    expect(lookupPlan(dropped, query('Create the file a.txt'), 0.85).kind).toBe('miss');
  });

  it('never serves an empty plan, nor one whose task completed unverified', () => {
    const unverified = makeEvent(
      'TaskCompleted',
      { runId: 'r2', taskId: '1' },
      { durationMs: 1, commands: 1, recoveries: 1, evidence: 'none' },
    );
    // given an empty plan that completed (a log from before planning refused it), and a plan completed unverified
    const cache = given([
      created('r1', 'Create the file a.txt', planFor()),
      completed('r1'),
      created('r2', 'Create the file b.txt', planFor('echo > b.txt')),
      unverified,
    ]);
    // then neither is an entry: a lookup asks for a plan anew
    expect(cache.entries).toEqual({});
    expect(lookupPlan(cache, query('Create the file a.txt'), 0.85).kind).toBe('miss');
  });

  it('keeps at most maxEntries, least recently used out', () => {
    const events = ['a', 'b', 'c'].flatMap((n, i) => [
      created(`r${i}`, `Create the file ${n}.txt`, planFor(`echo > ${n}.txt`)),
      completed(`r${i}`),
    ]);
    const cache = given(events, 2);
    expect(Object.values(cache.entries).map((e) => e.taskText)).toEqual([
      taskText(task('Create the file b.txt')),
      taskText(task('Create the file c.txt')),
    ]);
  });

  it('drops the entry used longest ago, a cache hit counting as a use, the same after a snapshot', () => {
    const file = (n: string) => `Create the file ${n}.txt`;
    const planned = (n: string, i: number) => [
      created(`r${i}`, file(n), planFor(`echo > ${n}.txt`)),
      completed(`r${i}`),
    ];
    const hit = (n: string) =>
      makeEvent(
        'PlanCacheHit',
        { runId: 'h', taskId: '1' },
        { key: query(file(n)).key, entryKey: query(file(n)).key, match: 'exact', similarity: 1, adaptations: [] },
      );
    const events = [...planned('a', 0), ...planned('b', 1), hit('a'), ...planned('c', 2), ...planned('d', 3)];
    const cache = given(events, 3);
    expect(
      Object.values(cache.entries)
        .map((e) => e.taskText)
        .sort(),
    ).toEqual(['a', 'c', 'd'].map((n) => taskText(task(file(n)))));
    // A snapshot holds the entries, not their order: a cache read back from one drops the same.
    const snapshot: PlanCache = JSON.parse(JSON.stringify(given(events.slice(0, 5), 3)));
    const resumed = events.slice(5).reduce((s, e, i) => planCacheEvolver(3)(s, { ...e, seq: 6 + i }), snapshot);
    expect(resumed).toEqual(cache);
  });

  it('hits exactly, says why it misses, and offers a similar plan adapted', () => {
    const cache = given([
      created('r1', 'Create the file docs/alpha.md', planFor('mkdir -p docs && echo alpha > docs/alpha.md')),
      completed('r1'),
    ]);
    expect(lookupPlan(cache, query('Create the file docs/alpha.md'), 0.85).kind).toBe('exact');
    expect(lookupPlan(cache, query('Create the file docs/alpha.md', 's1', 'c2'), 0.85)).toMatchObject({
      kind: 'miss',
      reason: expect.stringMatching(/^context changed since entry \w+ was planned \(c1 -> c2\)$/),
    });
    const similar = lookupPlan(cache, query('Create the file docs/beta.md'), 0.85);
    expect(similar).toMatchObject({ kind: 'similar', adaptations: [{ from: 'docs/alpha.md', to: 'docs/beta.md' }] });
    expect(similar.kind === 'similar' && similar.plan.commands[0]!.command).toBe(
      'mkdir -p docs && echo beta > docs/beta.md',
    );
    expect(lookupPlan(cache, query('Create the file docs/beta.md', 's2'), 0.85)).toMatchObject({
      kind: 'miss',
      reason: expect.stringMatching(/planned against other spec files/),
    });
    expect(lookupPlan(cache, query('Deploy the cluster to production'), 0.85)).toMatchObject({
      kind: 'miss',
      reason: expect.stringMatching(/no entry is similar enough/),
    });
    expect(lookupPlan(initialPlanCache(), query('x'), 0.85)).toEqual({ kind: 'miss', reason: 'the cache is empty' });
  });
});

describe('validatePlan', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ia-validate-'));
    await writeFile(join(dir, 'present.txt'), 'x');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('accepts inputs that exist or that an earlier command writes', async () => {
    expect(await validatePlan(planFor('cat present.txt > copy.txt', 'cat copy.txt'), dir, [])).toEqual({ ok: true });
  });
  it('rejects a missing input, a denied command, an unknown dependency', async () => {
    expect(await validatePlan(planFor('cat absent.txt'), dir, [])).toEqual({
      ok: false,
      reason: 'input absent.txt of `cat absent.txt` does not exist',
    });
    expect(await validatePlan(planFor('sudo true'), dir, [])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/policy denies/),
    });
    const p = planFor('true');
    expect(await validatePlan({ ...p, commands: [{ ...p.commands[0]!, dependsOn: ['c9'] }] }, dir, [])).toMatchObject({
      ok: false,
      reason: 'command c1 depends on unknown command c9',
    });
  });
});
