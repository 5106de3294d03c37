import { commandSubjects } from '../../events/subjects.ts';
import { RecoverRequestSchema, type RecoverReply } from '../../events/work-commands.ts';
import { append, requestInputs, type ActorDefinition, type ActorIO } from '../actor.ts';
import { createAdvisor, type Advisor, type RecovererPorts } from './advisor.ts';
import { attemptEvents } from './decide.ts';

/**
 * The recoverer: answers recovery requests (a queue group, so replicas share them) and records
 * each decision as RecoveryAttempted before replying.
 */
export const recovererActor = (
  ports: RecovererPorts,
  options: { errorPatterns?: boolean } = {},
): ActorDefinition<Advisor> => ({
  name: 'recoverer',
  open: (rt) => createAdvisor(rt, ports, options),
  close: (advisor) => advisor.stop(),
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
