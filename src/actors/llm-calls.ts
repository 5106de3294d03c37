import { makeEvent } from '../events/agent-events.ts';
import type { LlmCallRecord } from '../llm/client.ts';
import type { Runtime } from './runtime.ts';

/** LlmCalled events, appended in the background: an LLM call is never held up by its record. */
export function recordLlmCall(rt: Runtime) {
  return (runId: string, call: LlmCallRecord) => {
    rt.background.track(rt.store.append(makeEvent('LlmCalled', { runId }, call)).catch((e: unknown) => rt.log.error('recording an LLM call', e)));
  };
}
