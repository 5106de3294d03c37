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
    commands: explicitCommands(task.commands),
    decisionPoints: [],
    successCriteria: task.success,
    fallbacks: [],
  };
}

/** Commands as written, as plan steps: ids c1, c2, ... in order, nothing expected of them. */
export function explicitCommands(commands: readonly string[]): Plan['commands'] {
  return commands.map((command, i) => ({
    id: `c${i + 1}`,
    command,
    description: '',
    expectedOutputs: [],
    successIndicators: [],
    failureIndicators: [],
    retry: false,
    dependsOn: [],
  }));
}
