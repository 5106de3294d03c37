import * as z from 'zod';
import { openLlm } from '../actors/llm-calls.ts';
import { loadConfig } from '../config.ts';
import { EnvironmentError, InputError, LlmError } from '../errors.ts';
import type { LlmCallRecord } from '../llm/client.ts';
import { DEFAULT_CAPABILITIES, pinsFor, type Capabilities } from '../llm/capabilities.ts';
import { DEFAULT_LLM_BASE_URL } from '../llm/probe.ts';
import { withRuntime } from './nats-session.ts';
import { colours } from './progress.ts';
import { out, outJson } from './terminal.ts';

const CheckReply = z.object({ sum: z.number() });

/**
 * `implement-agent llm check [--json]`: one small structured request against the configured
 * endpoint, through the same client and negotiation as a run; what it learns is recorded in the
 * log like a run's, so the next run starts from it.
 */
export async function llmCheckCommand(json: boolean): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  if (config.llm.mode !== 'openai') {
    throw new InputError(
      'no LLM is configured: set OPENAI_BASE_URL (a local server) and/or OPENAI_API_KEY, or llm.baseUrl in implement-agent.config.json',
    );
  }
  const endpoint = config.llm.baseUrl ?? DEFAULT_LLM_BASE_URL;
  return withRuntime(config, cwd, 'llm check', async (rt) => {
    const calls: LlmCallRecord[] = [];
    const { llm, close } = await openLlm(rt, { observe: (c) => calls.push(c) });
    try {
      const known = llm!.capabilities();
      const started = performance.now();
      let error: string | undefined;
      let answer: number | undefined;
      try {
        answer = (
          await llm!.structured({ runId: `llmcheck${Date.now().toString(36)}` }, 'llm_check', CheckReply, [
            { role: 'system', content: 'You answer with JSON only.' },
            { role: 'user', content: 'What is 2 + 3? Reply with a JSON object {"sum": <the number>}.' },
          ])
        ).sum;
      } catch (e) {
        if (!(e instanceof LlmError)) throw e;
        error = e.message;
      }
      const latencyMs = performance.now() - started;
      const now = llm!.capabilities();
      const learned = llm!.learnedInThisProcess();
      const ok = calls.filter((c) => c.ok);
      const result = {
        endpoint,
        model: config.llm.model,
        ok: error === undefined && answer === 5,
        ...(answer !== undefined ? { answer } : {}),
        ...(error ? { error } : {}),
        latencyMs: Math.round(latencyMs),
        calls: calls.length,
        promptTokens: ok.reduce((n, c) => n + (c.promptTokens ?? 0), 0),
        completionTokens: ok.reduce((n, c) => n + (c.completionTokens ?? 0), 0),
        accepted: now,
        knownBefore: known,
        degraded: learned,
        pin: { llm: pinsFor(now) },
      };
      if (json) outJson(result);
      else printCheck(result, config.llm.maxOutputTokens);
      if (error)
        throw new EnvironmentError(`the LLM check against ${endpoint} (model ${config.llm.model}) failed: ${error}`);
      return result.ok ? 0 : 1;
    } finally {
      await close();
    }
  });
}

function printCheck(
  r: {
    endpoint: string;
    model: string;
    ok: boolean;
    answer?: number;
    latencyMs: number;
    calls: number;
    promptTokens: number;
    completionTokens: number;
    accepted: Capabilities;
    knownBefore: Capabilities;
    degraded: readonly { setting: string; value: string; reason: string }[];
  },
  maxOutputTokens: number | undefined,
) {
  const w = out;
  const why = (setting: string) => r.degraded.find((d) => d.setting === setting);
  const line = (label: string, setting: keyof Capabilities, shown: string) => {
    const d = why(setting);
    // Not the default, and not found out now: learned by an earlier check or run, or pinned.
    const before =
      r.knownBefore[setting] !== DEFAULT_CAPABILITIES[setting] ? colours.dim(' (known before this check)') : '';
    w(`  ${label.padEnd(18)} ${shown}${d ? colours.yellow(` (degraded: ${d.reason})`) : before}`);
  };
  w(`${colours.bold('endpoint')} ${r.endpoint}`);
  w(`${colours.bold('model')}    ${r.model}`);
  const answer =
    r.answer === undefined
      ? colours.red('no valid reply')
      : r.ok
        ? colours.green(`valid structured reply (2 + 3 = ${r.answer})`)
        : colours.yellow(`a structured reply, but 2 + 3 = ${r.answer}`);
  w(
    `${colours.bold('answer')}   ${answer} in ${r.latencyMs} ms, ${r.calls} call(s), ${r.promptTokens} prompt + ${r.completionTokens} completion tokens`,
  );
  w(colours.bold('accepted'));
  line('structured output', 'structuredOutput', r.accepted.structuredOutput);
  line('temperature', 'temperature', r.accepted.temperature === 'send' ? 'sent' : 'not sent (the model default)');
  line(
    'max tokens',
    'maxTokensParam',
    maxOutputTokens
      ? `${r.accepted.maxTokensParam} (${maxOutputTokens})`
      : `${r.accepted.maxTokensParam} (not sent: llm.maxOutputTokens is unset)`,
  );
  w(`${colours.bold('to pin it')} (implement-agent.config.json):`);
  w(
    `  "llm": { ${Object.entries(pinsFor(r.accepted))
      .map(([k, v]) => `"${k}": ${JSON.stringify(v)}`)
      .join(', ')} }`,
  );
}
