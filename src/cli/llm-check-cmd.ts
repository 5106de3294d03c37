import * as z from 'zod';
import { openLlm, recordEndpointContext } from '../host/llm-calls.ts';
import { loadConfig } from '../config.ts';
import { EnvironmentError, InputError, LlmError } from '../errors.ts';
import type { LlmCallRecord } from '../llm/client.ts';
import { DEFAULT_CAPABILITIES, pinsFor, type Capabilities } from '../llm/capabilities.ts';
import { DEFAULT_LLM_BASE_URL, probeLlm } from '../llm/probe.ts';
import { withRuntime } from './nats-session.ts';
import { natsFor } from './nats-for.ts';
import { colours } from './progress.ts';
import { err, out, outJson } from './terminal.ts';

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
  // Unreachable, a refused key, a model it does not serve: exit 2 here, before anything is called "accepted".
  const probed = await probeLlm(config.llm);
  if (probed.notice) err(probed.notice);
  config.llm.model = probed.model;
  return withRuntime(
    config,
    cwd,
    'llm check',
    async (rt) => {
      const runId = `llmcheck${Date.now().toString(36)}`;
      await recordEndpointContext(rt, runId, probed.contextTokens);
      const calls: LlmCallRecord[] = [];
      const { llm, close } = await openLlm(rt, { observe: (c) => calls.push(c) });
      try {
        const known = llm!.capabilities();
        const started = performance.now();
        let error: string | undefined;
        let answer: number | undefined;
        let cut: number | undefined;
        try {
          const reply = await llm!.probe({ runId }, CheckReply, [
            { role: 'system', content: 'You answer with JSON only.' },
            { role: 'user', content: 'What is 2 + 3? Reply with a JSON object {"sum": <the number>}.' },
          ]);
          answer = reply.value?.sum;
          cut = reply.cut;
          if (reply.error) error = `the reply is not valid: ${reply.error}`;
        } catch (e) {
          if (!(e instanceof LlmError)) throw e;
          error = e.message;
        }
        const latencyMs = performance.now() - started;
        const now = llm!.capabilities();
        const learned = llm!.learnedInThisProcess();
        // Only what a call was seen to take (a reply, cut or not): a check that got no answer accepted nothing.
        const ok = calls.filter((c) => c.outcome === 'ok' || c.outcome === 'truncated');
        const worked = ok.length > 0;
        const result = {
          endpoint,
          model: config.llm.model,
          models: probed.models,
          // A reply cut at the probe's cap came in the form asked for: the endpoint takes it.
          ok: error === undefined && (answer === 5 || cut !== undefined),
          ...(answer !== undefined ? { answer } : {}),
          ...(cut !== undefined ? { cutAtTokens: cut } : {}),
          ...(error ? { error } : {}),
          latencyMs: Math.round(latencyMs),
          calls: calls.length,
          promptTokens: ok.reduce((n, c) => n + (c.promptTokens ?? 0), 0),
          completionTokens: ok.reduce((n, c) => n + (c.completionTokens ?? 0), 0),
          accepted: worked ? now : null,
          knownBefore: known,
          degraded: learned.filter((l) => l.setting !== 'concurrency' && l.setting !== 'contextTokens'),
          ...(worked ? { pin: { llm: pinsFor(now) } } : {}),
        };
        if (json) outJson(result);
        else printCheck(result, config.llm.maxOutputTokens);
        if (error)
          throw new EnvironmentError(`the LLM check against ${endpoint} (model ${config.llm.model}) failed: ${error}`);
        return result.ok ? 0 : 1;
      } finally {
        await close();
      }
    },
    // What it learns is recorded: the store is made if need be.
    natsFor(config, cwd, { kind: 'read', create: true }),
  );
}

function printCheck(
  r: {
    endpoint: string;
    model: string;
    ok: boolean;
    answer?: number;
    cutAtTokens?: number;
    latencyMs: number;
    calls: number;
    promptTokens: number;
    completionTokens: number;
    accepted: Capabilities | null;
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
    r.cutAtTokens !== undefined
      ? colours.yellow(
          `a reply cut at the probe's cap of ${r.cutAtTokens} tokens (the form works; whether the model stops shows in a run)`,
        )
      : r.answer === undefined
        ? colours.red('no valid reply')
        : r.ok
          ? colours.green(`valid structured reply (2 + 3 = ${r.answer})`)
          : colours.yellow(`a structured reply, but 2 + 3 = ${r.answer}`);
  w(
    `${colours.bold('answer')}   ${answer} in ${r.latencyMs} ms, ${r.calls} call(s), ${r.promptTokens} prompt + ${r.completionTokens} completion tokens`,
  );
  const accepted = r.accepted;
  if (!accepted) {
    w(colours.red('accepted: nothing, no request got an answer (see the error below)'));
    return;
  }
  w(colours.bold('accepted (seen working in this check)'));
  line('structured output', 'structuredOutput', `${accepted.structuredOutput} (used from now on)`);
  line('temperature', 'temperature', accepted.temperature === 'send' ? 'sent' : 'not sent (the model default)');
  line(
    'max tokens',
    'maxTokensParam',
    `${accepted.maxTokensParam} (${maxOutputTokens ? `llm.maxOutputTokens, ${maxOutputTokens}` : 'a cap per kind of call; llm.maxOutputTokens sets one for all'})`,
  );
  line(
    'streaming',
    'streaming',
    accepted.streaming === 'on' ? 'on (a slow server is waited for while it sends)' : 'off (whole replies)',
  );
  if (accepted.contextTokens) w(`  ${'context'.padEnd(18)} ${accepted.contextTokens} tokens (said by the endpoint)`);
  if (accepted.concurrency)
    w(`  ${'calls in flight'.padEnd(18)} ${accepted.concurrency} (learned from its overload answers)`);
  w(`${colours.bold('to pin it')} (implement-agent.config.json):`);
  w(
    `  "llm": { ${Object.entries(pinsFor(accepted))
      .map(([k, v]) => `"${k}": ${JSON.stringify(v)}`)
      .join(', ')} }`,
  );
}
