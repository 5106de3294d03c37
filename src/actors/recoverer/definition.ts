import { commandSubjects } from '../../events/subjects.ts';
import { RecoverRequestSchema, type RecoverReply } from '../../events/work-commands.ts';
import { append, requestInputs, type ActorDefinition, type ActorIO } from '../actor.ts';
import { runActor } from '../run-actor.ts';
import type { Runtime } from '../runtime.ts';
import { createAdvisor, type Advisor } from './advisor.ts';
import { attemptEvents } from './core.ts';

export type RecovererOptions = { advisor?: Advisor; errorPatterns?: boolean };

/**
 * The recoverer: answers recovery requests (a queue group, so replicas share them) and records
 * each decision as RecoveryAttempted before replying.
 */
export const recovererActor = (options: RecovererOptions = {}): ActorDefinition<Advisor> => ({
  name: 'recoverer',
  open: async (rt) =>
    options.advisor ??
    (await createAdvisor(rt, options.errorPatterns === undefined ? {} : { errorPatterns: options.errorPatterns })),
  close: async (advisor) => {
    if (!options.advisor) await advisor.stop();
  },
  inputs: requestInputs({
    subject: commandSubjects.recover(),
    schema: RecoverRequestSchema,
    queue: 'recoverer',
    handle: async (request, io: ActorIO<Advisor>) => {
      const reply = await io.resources.advise(request);
      const events = attemptEvents(request, reply);
      return { reply, effects: events.length > 0 ? [append(...events)] : [] };
    },
    replyOnError: (error): RecoverReply => ({
      decision: 'give-up',
      reason: `recoverer error: ${(error as Error).message}`,
    }),
  }),
});

export const startRecoverer = (rt: Runtime, options: RecovererOptions = {}) => runActor(rt, recovererActor(options));
