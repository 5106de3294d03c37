import type { Plan } from '../plan/plan-schema.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';
import type { ChatMessage, LlmClient } from './client.ts';
import { DATA_RULE, dataBlock } from '../data-block.ts';
import {
  analysisReply,
  criteriaReply,
  questionOrder,
  questions,
  toPlan,
  wholePlanReply,
  type WirePlan,
} from './plan-replies.ts';

export type PlanningStrategy = 'batched' | 'single' | 'sequential';

const SYSTEM =
  'You plan the implementation of one task of a software project as shell commands run with bash in the ' +
  'project folder (the working directory). Commands must stay inside it, never use sudo, and be idempotent ' +
  'where possible. Command ids are c1, c2, ...; dependsOn lists ids that must finish first. Reply with JSON only. ' +
  DATA_RULE;

const ASK: Record<string, string> = {
  complexity: 'Assess the complexity: level, estimated steps, risks, confidence (0-1).',
  commands: 'List the shell commands that implement the task.',
  decisionPoints:
    'List decision points: conditions checked at run time (exit_code, file_exists, output_check) that choose between commands (whenTrue/whenFalse list command ids). Usually none.',
  successCriteria:
    "List success criteria checked after the commands, at least one that shows the task's intent was reached (a task without one is recorded as unverified when a fix replaces a command): file_exists (path), command (command, exitCode) or output_contains (command, text, exitCode: the code it must also exit with, 0 unless it should fail).",
  fallbacks: 'List fallback strategies: a trigger and the commands to try.',
};

/** What the planner is shown: `shared` is the same for every task of a run, `task` is this task's. */
export type PlanningContext = { shared: string; task: string };

/** The task as written in tasks.md, fenced as data: the project's words, which plan what to do, not how to answer. */
function taskMessage(task: TaskSpec, context: string): string {
  const written = [
    `Task ${task.id}: ${task.title}`,
    task.description.length ? `Details:\n${task.description.map((d) => `- ${d}`).join('\n')}` : '',
    task.requirements.length ? `Requirements: ${task.requirements.join(', ')}` : '',
    task.success.length ? `Given success criteria: ${JSON.stringify(task.success)}` : '',
    task.criteria.length ? `Acceptance criteria in words:\n${task.criteria.map((c) => `- ${c}`).join('\n')}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  return [
    context,
    dataBlock('The task to plan, as tasks.md writes it', written),
    task.criteria.length
      ? 'Make each acceptance criterion a checkable success criterion (file_exists, command or output_contains).'
      : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}

/**
 * Plans a task with the LLM. `batched` (default) asks the five questions in two structured calls
 * sent together, so planning costs one round trip; `single` asks everything in one call;
 * `sequential` asks the five questions one after another, as the reference workflow did, and
 * exists as the benchmark baseline.
 */
export async function planWithLlm(
  llm: LlmClient,
  runId: string,
  task: TaskSpec,
  context: PlanningContext,
  strategy: PlanningStrategy,
): Promise<Plan> {
  // What every task shares comes first and the task last, so endpoints that cache prompt
  // prefixes reuse the system text and the project tree from one task to the next.
  const base: ChatMessage[] = [
    { role: 'system', content: SYSTEM },
    ...(context.shared ? [{ role: 'user' as const, content: context.shared }] : []),
    { role: 'user', content: taskMessage(task, context.task) },
  ];
  const scope = { runId, taskId: task.id };
  const ask = (what: string[]): ChatMessage[] => [
    ...base,
    { role: 'user', content: what.map((q) => ASK[q]).join(' ') },
  ];
  let wire: WirePlan;
  switch (strategy) {
    case 'single':
      wire = await llm.structured(scope, 'plan', wholePlanReply, ask(questionOrder));
      break;
    case 'batched': {
      const [analysis, criteria] = await Promise.all([
        llm.structured(scope, 'plan_analysis', analysisReply, ask(['complexity', 'commands', 'decisionPoints'])),
        llm.structured(scope, 'plan_criteria', criteriaReply, ask(['successCriteria', 'fallbacks'])),
      ]);
      wire = { ...analysis, ...criteria };
      break;
    }
    case 'sequential': {
      const answers: Record<string, unknown> = {};
      const history = [...base];
      for (const q of questionOrder) {
        const messages: ChatMessage[] = [...history, { role: 'user', content: ASK[q]! }];
        const answer = await llm.structured(scope, `plan_${q}`, questions[q], messages);
        Object.assign(answers, answer);
        history.push({ role: 'user', content: ASK[q]! }, { role: 'assistant', content: JSON.stringify(answer) });
      }
      wire = answers as WirePlan;
      break;
    }
    default: {
      const never: never = strategy;
      return never;
    }
  }
  const plan = toPlan(wire);
  // Criteria written in tasks.md always hold, whatever the LLM proposes.
  return task.success.length ? { ...plan, successCriteria: [...task.success, ...plan.successCriteria] } : plan;
}
