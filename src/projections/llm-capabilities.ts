import { produce } from 'immer';
import type { StoredEvent } from '../events/agent-events.ts';
import { eventSubjects } from '../events/subjects.ts';
import type { CapabilitySettingSchema } from '../events/agent-events.ts';
import type * as z from 'zod';
import type { Projection } from './projection.ts';

/** What a refusal taught: the setting, the value used from then on, and the refusal. */
export type Learned = { setting: z.infer<typeof CapabilitySettingSchema>; value: string; reason: string };

/** The endpoint-and-model key what is learned is kept under. */
export const capabilityKey = (endpoint: string, model: string) => `${endpoint.replace(/\/+$/, '')} ${model}`;

/** What every endpoint and model were found to refuse, by `capabilityKey`: the next call starts from it. */
export type LlmCapabilities = Record<string, Learned[]>;

export const LLM_CAPABILITIES = {
  name: 'llm-capabilities',
  version: 2,
  subject: eventSubjects.type('LlmCapabilityLearned'),
} as const;

const MEASURES = new Set<Learned['setting']>(['contextTokens', 'concurrency']);

const evolveLlmCapabilities = (state: LlmCapabilities, event: StoredEvent): LlmCapabilities => {
  if (event.type !== 'LlmCapabilityLearned') return state;
  const { endpoint, model, setting, value, reason } = event.data;
  const key = capabilityKey(endpoint, model);
  const known = state[key] ?? [];
  // A measure (a context size, a number of calls) is replaced by the newest one; a refusal is kept once.
  if (MEASURES.has(setting)) {
    if (known.filter((l) => l.setting === setting).at(-1)?.value === value) return state;
    return produce(state, (d) => {
      d[key] = [...known.filter((l) => l.setting !== setting), { setting, value, reason }];
    });
  }
  if (known.some((l) => l.setting === setting && l.value === value)) return state;
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
