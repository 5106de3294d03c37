import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlanner } from '../helpers/demo-planner.ts';
import { startFakeLlm, type FakeLlm } from '../helpers/fake-llm.ts';
import { provider } from '../helpers/llm-providers.ts';
import { CLI, ofType, runCli, workspaces } from '../helpers/cli.ts';
import { startTestNats } from '../helpers/nats.ts';

let nats: Awaited<ReturnType<typeof startTestNats>>;
let llm: FakeLlm;
const ws = workspaces();
beforeAll(async () => {
  nats = await startTestNats();
  llm = await startFakeLlm({ responder: demoPlanner() });
});
afterAll(async () => {
  await llm?.close();
  await nats?.stop();
  await ws.cleanup();
});

/** Worded apart, so that no task's plan is a similar cache hit of another's: each needs the LLM. */
const TASKS = `- [ ] 1. Write notes/one.md
- [ ] 2. Create the settings file config/app.json with defaults
- [ ] 3. Document every endpoint of the service in docs/API.md
`;
const PRICING = { llm: { pricing: { inputPerMTok: 2, cachedInputPerMTok: 0.5, outputPerMTok: 8 } } };

describe('what a run cost, and its budget', () => {
  it('stops asking the LLM once the budget is spent, says so, and resume --budget finishes the run', async () => {
    const w = await ws.make(TASKS);
    await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify(PRICING));
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'k' };
    // One task's planning spends more than 100 tokens: the second waits for a larger budget.
    const first = await execa(
      process.execPath,
      [CLI, 'run', w.tasks, '--workdir', w.dir, '--plan-ahead', '0', '--budget', '100'],
      { env, cwd: w.dir, reject: false },
    );
    expect(first.exitCode, first.stderr).toBe(4);
    const output = `${first.stdout}\n${first.stderr}`;
    expect(output).toMatch(
      /stopped: the run's LLM budget of 100 tokens is spent \([\d,]+ used\); waiting for the LLM: task\(s\) 2, 3/,
    );
    const runId = /run (r\w+):/.exec(first.stdout)![1]!;
    expect(output).toContain(`implement-agent resume ${runId} --budget`);
    expect(await readFile(w.tasks, 'utf8')).toBe(TASKS.replace('- [ ] 1.', '- [x] 1.'));
    const plannedFirst = llm.requests.length;
    expect(plannedFirst).toBe(2);

    // Resuming without more budget stops again at once, asking nothing.
    const again = await runCli(['resume', runId], env, w.dir);
    expect(again.result.exitCode).toBe(4);
    expect(llm.requests.length).toBe(plannedFirst);

    const resumed = await runCli(['resume', runId, '--budget', '1m'], env, w.dir);
    expect(resumed.result.exitCode, resumed.result.stderr).toBe(0);
    expect(await readFile(w.tasks, 'utf8')).toBe(TASKS.replaceAll('- [ ]', '- [x]'));
    expect(ofType(resumed.events, 'RunFinished').at(-1)?.data.status).toBe('succeeded');

    const status = await execa(process.execPath, [CLI, 'status', runId], { env, cwd: w.dir });
    expect(status.stdout).toMatch(
      /LLM: 6 call\(s\), [\d,]+ tokens \([\d,]+ prompt.*completion\), \$0\.\d{4}; budget 1,000,000 tokens/,
    );
    for (const title of ['1. Write notes/one.md', '2. Create the settings', '3. Document every'])
      expect(status.stdout).toMatch(new RegExp(`completed\\s+${title}.* · [\\d,]+ tokens`));
    const json = JSON.parse(
      (await execa(process.execPath, [CLI, 'status', runId, '--json'], { env, cwd: w.dir })).stdout,
    ) as { tokens: number; usd: number; tasks: { usage?: { calls: number } }[] };
    expect(json.tokens).toBeGreaterThan(100);
    expect(json.usd).toBeGreaterThan(0);
    expect(json.tasks.map((t) => t.usage?.calls)).toEqual([2, 2, 2]);
    const runs = await execa(process.execPath, [CLI, 'runs'], { env, cwd: w.dir });
    expect(runs.stdout).toMatch(/LLM TOKENS/);
    expect(runs.stdout).toMatch(new RegExp(`${runId}.*${json.tokens.toLocaleString('en-US')} \\$0\\.\\d{4}`));
    const report = join(w.dir, 'report.html');
    await execa(process.execPath, [CLI, 'report', runId, '--out', report], { env, cwd: w.dir });
    expect(await readFile(report, 'utf8')).toMatch(/<table id="llm-cost">[\s\S]*whole run<\/td><td>6<\/td>/);
  });

  it('prints the tokens of each task and of the run in the last lines, and --dry estimates the tokens of what is left', async () => {
    const w = await ws.make('- [ ] 1. Add a cost note in docs/cost.md, in short sentences\n');
    await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify(PRICING));
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'k' };
    const run = await execa(process.execPath, [CLI, 'run', w.tasks, '--workdir', w.dir], { env, cwd: w.dir });
    expect(run.stdout).toMatch(/✓ 1\. Add a cost note in docs\/cost\.md, in short sentences .* · [\d,]+ tokens/);
    expect(run.stdout).toMatch(/LLM: 2 call\(s\), [\d,]+ tokens .*\$0\.\d{4}/);
    await writeFile(
      w.tasks,
      '- [ ] 1. Summarise the API in API.md\n- [ ] 2. Run the tests\n  ```bash\n  true\n  ```\n',
    );
    const dry = await execa(process.execPath, [CLI, 'run', w.tasks, '--workdir', w.dir, '--dry', '--llm', 'offline'], {
      env,
      cwd: w.dir,
      reject: false,
    });
    expect(dry.stdout).toMatch(
      /1 of 2 task\(s\) need the LLM to be planned .*: 1\n\s+about [\d,]+ tokens for planning/,
    );
  });
});

describe('llm check', () => {
  it('reports what an OpenAI reasoning model refused, and a second check starts from what the first learned', async () => {
    const stand = provider('openai-reasoning', () => JSON.stringify({ sum: 5 }));
    const reasoning = await startFakeLlm({ responder: stand.responder, models: [{ id: 'o4-mini' }] });
    try {
      const w = await ws.make('');
      await writeFile(join(w.dir, 'implement-agent.config.json'), JSON.stringify({ llm: { maxOutputTokens: 2000 } }));
      const env = {
        NATS_URL: nats.url,
        OPENAI_BASE_URL: reasoning.baseUrl,
        OPENAI_API_KEY: 'k',
        IMPLEMENT_AGENT_MODEL: 'o4-mini',
      };
      const first = JSON.parse(
        (await execa(process.execPath, [CLI, 'llm', 'check', '--json'], { env, cwd: w.dir })).stdout,
      ) as Record<string, unknown>;
      expect(first).toMatchObject({
        ok: true,
        model: 'o4-mini',
        calls: 3,
        accepted: { structuredOutput: 'json_schema', temperature: 'omit', maxTokensParam: 'max_completion_tokens' },
      });
      expect((first.degraded as { setting: string }[]).map((d) => d.setting)).toEqual([
        'temperature',
        'maxTokensParam',
      ]);
      expect(first.pin).toEqual({
        llm: { structuredOutput: 'json_schema', temperature: null, maxTokensParam: 'max_completion_tokens' },
      });
      const refused = stand.refused.length;
      const text = await execa(process.execPath, [CLI, 'llm', 'check'], { env, cwd: w.dir });
      expect(text.stdout).toContain('temperature        not sent (the model default) (known before this check)');
      expect(text.stdout).toContain(
        '"llm": { "structuredOutput": "json_schema", "temperature": null, "maxTokensParam": "max_completion_tokens" }',
      );
      expect(stand.refused.length).toBe(refused);
    } finally {
      await reasoning.close();
    }
  });

  it('is a clear error without an endpoint', async () => {
    const w = await ws.make('');
    const r = await execa(process.execPath, [CLI, 'llm', 'check'], {
      env: { NATS_URL: nats.url, OPENAI_BASE_URL: '', OPENAI_API_KEY: '' },
      cwd: w.dir,
      reject: false,
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('no LLM is configured');
  });
});

describe('a reverted task', () => {
  it('is planned anew by the next run: revert names its cached plan stale', async () => {
    const w = await ws.make('- [ ] 1. Write the release checklist to docs/RELEASE.md\n');
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'k' };
    const calls = () => llm.requests.filter((r) => r.messages.some((m) => m.content.includes('RELEASE.md'))).length;
    const first = await runCli(['run', w.tasks, '--workdir', w.dir], env, w.dir);
    expect(first.result.exitCode, first.result.stderr).toBe(0);
    const planned = calls();
    expect(planned).toBeGreaterThan(0);
    // The revert puts the project back as it was when the task was planned: without the stale
    // mark, the same key would serve the same plan again.
    const reverted = await execa(process.execPath, [CLI, 'revert', first.events[0]!.runId, '1'], {
      env,
      cwd: w.dir,
      reject: false,
    });
    expect(reverted.exitCode, reverted.stderr).toBe(0);
    const again = await runCli(['run', w.tasks, '--workdir', w.dir], env, w.dir);
    expect(again.result.exitCode, again.result.stderr).toBe(0);
    expect(ofType(again.events, 'PlanCacheHit')).toHaveLength(0);
    expect(calls()).toBe(2 * planned);
  });
});

describe('run --replan', () => {
  it('plans the named tasks anew instead of serving their cached plans, and only those', async () => {
    const TWO =
      '- [ ] 1. Record the supported platforms matrix in matrix/SUPPORT.csv\n- [ ] 2. Draft a security disclosure policy\n';
    const w = await ws.make(TWO);
    const env = { NATS_URL: nats.url, OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: 'k' };
    // Counted by the task's title: a prompt's file tree may name the other task's file.
    const calls = (title: string) =>
      llm.requests.filter((r) => r.messages.some((m) => m.content.includes(title))).length;
    const first = await runCli(['run', w.tasks, '--workdir', w.dir], env, w.dir);
    expect(first.result.exitCode, first.result.stderr).toBe(0);
    const [first1, first2] = [calls('Record the supported'), calls('Draft a security')];
    expect(first1).toBeGreaterThan(0);

    const again = await runCli(['run', w.tasks, '--workdir', w.dir, '--force', '--replan', '1'], env, w.dir);
    expect(again.result.exitCode, again.result.stderr).toBe(0);
    expect(calls('Record the supported')).toBe(2 * first1);
    expect(calls('Draft a security')).toBe(first2);
    expect(ofType(again.events, 'PlanCacheHit').map((e) => e.taskId)).toEqual(['2']);
    expect(ofType(again.events, 'PlanCreated').find((e) => e.taskId === '1')?.data.source).toBe('llm');

    // None named: every task.
    const all = await runCli(['run', w.tasks, '--workdir', w.dir, '--force', '--replan'], env, w.dir);
    expect(all.result.exitCode, all.result.stderr).toBe(0);
    expect(ofType(all.events, 'PlanCacheHit')).toHaveLength(0);
    expect(calls('Draft a security')).toBe(2 * first2);

    const unknown = await execa(process.execPath, [CLI, 'run', w.tasks, '--replan', '7'], {
      env,
      cwd: w.dir,
      reject: false,
    });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain(`--replan names no task 7 of ${w.tasks} (its tasks: 1, 2)`);
    // Three runs, one after the other.
  }, 180_000);
});
