import { makeEvent } from '../../events/agent-events.ts';
import { decodeJson, encodeJson } from '../../events/codec.ts';
import { commandSubjects } from '../../events/subjects.ts';
import { RecoverRequestSchema, type RecoverReply, type RecoverRequest } from '../../events/work-commands.ts';
import { createAdvisor, type Advisor } from './advisor.ts';
import type { Runtime } from '../runtime.ts';
import { eventIds } from '../../events/ids.ts';

/**
 * Hosts the recoverer: answers recovery requests (core NATS request/reply, queue group, so
 * replicas share them) and records each decision as RecoveryAttempted before replying.
 */
export async function startRecoverer(rt: Runtime, options: { advisor?: Advisor; errorPatterns?: boolean } = {}) {
  const advice = options.advisor ?? (await createAdvisor(rt, options.errorPatterns === undefined ? {} : { errorPatterns: options.errorPatterns }));
  const sub = rt.nc.subscribe(commandSubjects.recover(), { queue: 'recoverer' });
  const loop = (async () => {
    for await (const m of sub) {
      void (async () => {
        try {
          const request = decodeJson(RecoverRequestSchema, m.subject, m.data);
          const started = performance.now();
          const reply = await advice.advise(request);
          if (reply.decision !== 'give-up') await recordAttempt(rt, request, reply, performance.now() - started);
          m.respond(encodeJson(reply));
        } catch (error) {
          rt.log.error('recovery request failed', error);
          m.respond(encodeJson({ decision: 'give-up', reason: `recoverer error: ${(error as Error).message}` } satisfies RecoverReply));
        }
      })();
    }
  })();
  return {
    stop: async () => {
      await sub.drain();
      await loop;
      if (!options.advisor) await advice.stop();
    },
  };
}

async function recordAttempt(rt: Runtime, request: RecoverRequest, reply: Exclude<RecoverReply, { decision: 'give-up' }>, _ms: number) {
  const fix = reply.decision === 'fix' ? reply : undefined;
  await rt.store.append(
    makeEvent('RecoveryAttempted', { runId: request.runId, taskId: request.taskId, id: eventIds.command(request, 'RecoveryAttempted') }, {
      commandId: request.commandId,
      attempt: request.attempt,
      strategyId: reply.strategyId,
      source: fix?.source ?? 'pattern',
      ...(reply.patternId ? { patternId: reply.patternId } : {}),
      commands: fix?.commands ?? [],
      retry: fix?.retry ?? false,
      ...(fix?.diagnosis ? { diagnosis: fix.diagnosis } : {}),
    }),
  );
}
