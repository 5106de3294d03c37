import { produce } from 'immer';
import type { StoredEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import { capabilityKey, type Learned } from '../llm/capabilities.ts';
import type { Projection } from './projection.ts';

/** What every endpoint and model were found to refuse, by `capabilityKey`: the next call starts from it. */
export type LlmCapabilities = Record<string, Learned[]>;

export const LLM_CAPABILITIES = { name: 'llm-capabilities', version: 1, subject: eventSubjects.type('LlmCapabilityLearned') } as const;

export const evolveLlmCapabilities = (state: LlmCapabilities, event: StoredEvent): LlmCapabilities => {
  if (event.type !== 'LlmCapabilityLearned') return state;
  const { endpoint, model, setting, value, reason } = event.data;
  const key = capabilityKey(endpoint, model);
  if (state[key]?.some((l) => l.setting === setting && l.value === value)) return state;
  return produce(state, (d) => {
    (d[key] ??= []).push({ setting, value, reason });
  });
};

export const llmCapabilitiesProjection: Projection<LlmCapabilities> = {
  name: LLM_CAPABILITIES.name,
  version: LLM_CAPABILITIES.version,
  initialState: () => ({}),
  evolve: evolveLlmCapabilities,
};
