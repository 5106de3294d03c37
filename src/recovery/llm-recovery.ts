import * as z from 'zod';
import { strategyIds } from '../events/ids.ts';
import type { RecoverReply, RecoverRequest } from '../events/work-commands.ts';
import { checkCommand } from '../exec/policy.ts';
import { DATA_RULE, dataBlock } from '../data-block.ts';
import { isLoop } from './choose.ts';

/**
 * The recoverer's policy for the LLM, pure like the pattern choice beside it (`choose.ts`): what
 * it is asked, and what of its reply is taken. The host makes the call.
 */

export const LlmRecoverySchema = z.object({
  diagnosis: z.string(),
  action: z.enum(['fix', 'give-up']),
  commands: z.array(z.string()),
  retry: z.boolean(),
});
export type LlmRecovery = z.infer<typeof LlmRecoverySchema>;

/** The failure as the LLM is asked about it, with what the patterns said and what was tried. */
export function recoveryPrompt(request: RecoverRequest, why: string) {
  return [
    {
      role: 'system' as const,
      content:
        'You fix failed shell commands in a software project. Reply with JSON: diagnosis, action ("fix" or "give-up"), ' +
        'commands (shell commands to run in the working directory), retry (whether to run the failed command again after them). ' +
        'Never use sudo or touch anything outside the working directory. ' +
        DATA_RULE,
    },
    {
      role: 'user' as const,
      content: [
        dataBlock('Command', request.command),
        `Exit code: ${request.exitCode}${request.timedOut ? ' (timed out)' : ''}`,
        dataBlock('Stderr (tail)', request.stderrTail.slice(-2000)),
        dataBlock('Stdout (tail)', request.stdoutTail.slice(-1000)),
        `Known patterns: ${why}.`,
        request.tried.length
          ? `Already tried, without success: ${request.tried.map((t) => t.strategyId).join(', ')}.`
          : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    },
  ];
}

/**
 * What of the LLM's reply is taken: a fix with commands, not one tried before for this failure
 * (a loop), and only commands the policy allows; otherwise recovery gives up, saying why.
 */
export function llmRecovery(
  request: RecoverRequest,
  reply: z.infer<typeof LlmRecoverySchema>,
  allow: readonly string[],
): RecoverReply {
  if (reply.action === 'give-up' || reply.commands.length === 0)
    return { decision: 'give-up', reason: `the LLM gave up: ${reply.diagnosis}` };
  const strategyId = strategyIds.llm(reply.commands);
  if (isLoop(request, strategyId)) {
    return {
      decision: 'give-up',
      reason: `loop detected: \`${request.command}\` failed the same way after the same fix (${reply.commands.join('; ')})`,
    };
  }
  const denied = reply.commands.map((c) => ({ c, v: checkCommand(c, allow) })).find((x) => !x.v.allowed);
  if (denied && !denied.v.allowed)
    return { decision: 'give-up', reason: `the LLM's fix \`${denied.c}\` is denied by policy (${denied.v.rule})` };
  return {
    decision: 'fix',
    strategyId,
    source: 'llm',
    commands: reply.commands,
    retry: reply.retry,
    diagnosis: reply.diagnosis,
  };
}
