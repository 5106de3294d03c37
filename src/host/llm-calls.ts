import { makeEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import { redactorFor } from '../exec/redaction.ts';
import { LlmClient, type LlmCallRecord, type LlmScope } from '../llm/client.ts';
import { cancelCalls } from '../llm/in-flight.ts';
import { DEFAULT_LLM_BASE_URL } from '../llm/probe.ts';
import { LLM_CAPABILITIES, llmCapabilitiesProjection } from '../projections/llm-capabilities.ts';
import { runProjection } from '../projections/runner.ts';
import type { Runtime } from '../actors/actor.ts';

/** The envelope fields of an event about a call: its run, and its task when it has one. */
const eventFields = (scope: LlmScope) => ({
  runId: scope.runId,
  ...(scope.taskId !== undefined ? { taskId: scope.taskId } : {}),
});

/** LlmCalled events, appended in the background: an LLM call is never held up by its record. */
function recordLlmCall(rt: Runtime) {
  return (scope: LlmScope, call: LlmCallRecord) => {
    rt.background.track(
      rt.store
        .append(makeEvent('LlmCalled', eventFields(scope), call))
        .catch((e: unknown) => rt.log.error('recording an LLM call', e)),
    );
  };
}

/** The context the endpoint listed (GET /models, /props), for every client of the run to start from. */
export async function recordEndpointContext(rt: Runtime, runId: string, contextTokens: number | undefined) {
  if (contextTokens === undefined) return;
  const { baseUrl, model } = rt.config.llm;
  await rt.store.append(
    makeEvent(
      'LlmCapabilityLearned',
      { runId },
      {
        endpoint: baseUrl ?? DEFAULT_LLM_BASE_URL,
        model,
        setting: 'contextTokens',
        value: String(contextTokens),
        reason: 'listed by the endpoint',
      },
    ),
  );
}

/**
 * The LLM client of an actor process, when the configuration has one: it starts from what the
 * llm-capabilities projection knows of its endpoint and model, and records what it learns (and
 * every call) in the log, so no later call, process or run is refused for the same thing.
 */
export async function openLlm(
  rt: Runtime,
  options: { recordCalls?: boolean; observe?: (call: LlmCallRecord) => void } = {},
): Promise<{ llm: LlmClient | undefined; close: () => Promise<void> }> {
  if (rt.config.llm.mode !== 'openai') return { llm: undefined, close: async () => {} };
  const capabilities = await runProjection(rt.store, rt.snapshots, llmCapabilitiesProjection, {
    subject: LLM_CAPABILITIES.subject,
    everyEvents: rt.config.snapshots.everyEvents,
    everyMs: rt.config.snapshots.everyMs,
    onError: (e) => rt.log.error('llm capabilities', e),
  });
  await capabilities.caughtUp();
  const record = recordLlmCall(rt);
  const llm = new LlmClient(
    rt.config.llm,
    {
      record: (scope, call) => {
        options.observe?.(call);
        if (options.recordCalls !== false) record(scope, call);
      },
      known: (key) => capabilities.state()[key] ?? [],
      learned: (scope, fact) => {
        const { setting, value, reason, endpoint, model } = fact;
        rt.background.track(
          rt.store
            .append(makeEvent('LlmCapabilityLearned', eventFields(scope), { endpoint, model, setting, value, reason }))
            .catch((e: unknown) => rt.log.error('recording what the LLM endpoint accepts', e)),
        );
      },
    },
    redactorFor(rt.config),
  );
  return { llm, close: () => capabilities.stop() };
}

/**
 * Cancels this process's LLM calls for a task once the coordinator skips it (a dependency failed),
 * wherever the run is driven from (`run`, `up`, an actor process): nothing is spent on a task that
 * will not run. Returns the function that stops following.
 */
export async function cancelCallsOfSkipped(rt: Runtime): Promise<() => Promise<void>> {
  const skips = await rt.store.follow({ subject: eventSubjects.type('TaskSkipped') }, (e) => {
    if (e.taskId !== undefined) void cancelCalls(e.runId, e.taskId);
  });
  return () => skips.stop();
}
