import type { TaskSpec } from '../tasklist/task-spec.ts';
import type { Plan } from './plan-schema.ts';

/** The plan of a task whose commands are written in tasks.md: no LLM, no guessing. */
export function explicitPlan(task: TaskSpec): Plan {
  return {
    complexity: {
      level: task.commands.length > 5 ? 'medium' : 'low',
      estimatedSteps: task.commands.length,
      risks: [],
      confidence: 1,
    },
    commands: task.commands.map((command, i) => ({
      id: `c${i + 1}`,
      command,
      description: '',
      expectedOutputs: [],
      successIndicators: [],
      failureIndicators: [],
      retry: false,
      dependsOn: [],
    })),
    decisionPoints: [],
    successCriteria: task.success,
    fallbacks: [],
  };
}
