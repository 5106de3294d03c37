/** Whether a run may ask an LLM (`--llm`, `llm.mode`): `offline` plans from tasks.md and the plan cache only. */
export const LLM_MODES = ['openai', 'offline'] as const;
export type LlmMode = (typeof LLM_MODES)[number];
