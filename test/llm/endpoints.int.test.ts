import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoPlanner } from '../helpers/demo-planner.ts';
import { startFakeLlm } from '../helpers/fake-llm.ts';
import { PROVIDER_KINDS, provider } from '../helpers/llm-providers.ts';
import { ofType, runCli, workspaces } from '../helpers/cli.ts';
import { startTestNats } from '../helpers/nats.ts';

const ws = workspaces();
afterAll(() => ws.cleanup());

const FIRST = `# Tasks

- [ ] 1. Write docs/alpha.md
  - Describe the alpha module for readers
- [ ] 2. Write docs/beta.md
  - Describe the beta module for readers
`;
/** Nothing like the first list, so the plan cache has no similar entry: every task asks the LLM. */
const SECOND = `# Tasks

- [ ] 1. Record the first release in CHANGELOG.md
  - Keep a Changelog format, version 0.1.0
- [ ] 2. Add default settings as config/settings.json
`;
const ticked = (text: string) => text.replaceAll('- [ ]', '- [x]');

/**
 * Each endpoint behaviour users meet, through the real CLI, the real openai SDK and a real
 * nats-server: two prose tasks plan, run and are ticked; a second run against the same endpoint
 * (new tasks, so a cold plan cache; the same log) makes no call the endpoint refuses.
 */
describe.each(PROVIDER_KINDS)('an endpoint that behaves like %s', (kind) => {
  it('plans and runs two prose tasks, and a second run is never refused for what the first learned', async () => {
    const stand = provider(kind, demoPlanner());
    const llm = await startFakeLlm({ responder: stand.responder });
    const nats = await startTestNats();
    try {
      const w = await ws.make(FIRST);
      // A completion limit is set, so that the max_tokens refusal of reasoning models is met too.
      await writeFile(
        join(w.dir, 'implement-agent.config.json'),
        JSON.stringify({ llm: { maxOutputTokens: 4000, maxRetries: 2 } }),
      );
      const env = {
        NATS_URL: nats.url,
        OPENAI_BASE_URL: llm.baseUrl,
        OPENAI_API_KEY: 'test-key',
        IMPLEMENT_AGENT_MODEL: `${kind}-model`,
      };
      const first = await runCli(['run', w.tasks, '--workdir', w.dir], env, w.dir);
      expect(first.result.exitCode, first.result.stderr).toBe(0);
      expect(await readFile(w.tasks, 'utf8')).toBe(ticked(FIRST));
      expect(await readFile(join(w.dir, 'docs/alpha.md'), 'utf8')).toContain('Write docs/alpha.md');
      const refusedInFirst = stand.refused.length;
      if (['openai-reasoning', 'deepseek-json-mode', 'text-only'].includes(kind)) {
        expect(refusedInFirst).toBeGreaterThan(0);
        expect(ofType(first.events, 'LlmCapabilityLearned').length).toBeGreaterThan(0);
      }
      const calls = ofType(first.events, 'LlmCalled').filter((e) => e.data.ok);
      expect(calls.length).toBeGreaterThanOrEqual(4);
      if (kind === 'no-usage') expect(calls.every((c) => c.data.promptTokens === undefined)).toBe(true);
      else expect(calls.every((c) => (c.data.promptTokens ?? 0) > 0 && c.taskId !== undefined)).toBe(true);

      await writeFile(w.tasks, SECOND);
      const requestsBefore = llm.requests.length;
      const second = await runCli(['run', w.tasks, '--workdir', w.dir], env, w.dir);
      expect(second.result.exitCode, second.result.stderr).toBe(0);
      expect(await readFile(w.tasks, 'utf8')).toBe(ticked(SECOND));
      expect(ofType(second.events, 'PlanCacheHit')).toEqual([]);
      expect(llm.requests.length).toBeGreaterThan(requestsBefore);
      expect(stand.refused.length).toBe(refusedInFirst);
      expect(ofType(second.events, 'LlmCalled').filter((e) => !e.data.ok && e.data.refused)).toEqual([]);
      // Only measures may change (the calls in flight a rate limit allows), never a refused setting.
      expect(ofType(second.events, 'LlmCapabilityLearned').filter((e) => e.data.setting !== 'concurrency')).toEqual([]);
    } finally {
      await llm.close();
      await nats.stop();
    }
  });
});
