import type { RecoverReply, RecoverRequest } from '../events/work-commands.ts';
import type { Runtime } from '../actors/runtime.ts';

/** The recoverer's decision procedure for this process. */
export async function defaultAdvisor(_rt: Runtime): Promise<(request: RecoverRequest) => Promise<RecoverReply>> {
  return async () => ({ decision: 'give-up', reason: 'no error pattern matches and the LLM is offline' });
}
