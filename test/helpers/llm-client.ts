import { ConfigSchema } from '../../src/config.ts';
import { LlmClient, type LearnedFact, type LlmCallRecord } from '../../src/llm/client.ts';

/** The real LLM client against `baseUrl`, recording its calls and what it learns in memory. */
export function clientFor(baseUrl: string, llm: Record<string, unknown> = {}, known: LearnedFact[] = []) {
  const calls: LlmCallRecord[] = [];
  const learned: LearnedFact[] = [...known];
  const config = ConfigSchema.parse({ llm: { baseUrl, model: 'tiny', ...llm } }).llm;
  const client = new LlmClient(config, {
    record: (_scope, call) => calls.push(call),
    known: () => learned,
    learned: (_scope, fact) => learned.push(fact),
  });
  return { client, calls, learned };
}

export const scope = { runId: 'r1', taskId: '1' };

/** A planning request for task 1 titled `title`. */
export const ask = (title: string) => [
  { role: 'system' as const, content: 'You plan. Reply with JSON only.' },
  { role: 'user' as const, content: `Task 1: ${title}` },
];
