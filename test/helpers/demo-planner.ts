import type { LoggedRequest, Responder } from './fake-llm.ts';

/**
 * A deterministic stand-in for a planning LLM, for tests, benchmarks and demos: it reads the task
 * title from the prompt and plans one file write per path the title names (or a note otherwise),
 * answering whichever question the request's schema asks, in the wire shapes of plan-replies.ts.
 */
export function demoPlanner(options: { commandSeconds?: number | ((taskId: string) => number) } = {}): Responder {
  return (request: LoggedRequest) => {
    const prompt = request.messages.map((m) => m.content).join('\n');
    const [, taskId = '', title = 'task'] = /Task ([\w.]+): (.*)/.exec(prompt) ?? [];
    const paths = title.match(/[\w-]+(?:\/[\w.-]+)+|[\w-]+\.[a-z]{1,4}\b/g) ?? [];
    const seconds =
      typeof options.commandSeconds === 'function' ? options.commandSeconds(taskId) : options.commandSeconds;
    const sleep = seconds ? `sleep ${seconds} && ` : '';
    const commands = (paths.length ? paths : [`notes/${slug(title)}.txt`]).map((path, i) => ({
      id: `c${i + 1}`,
      command: `${sleep}mkdir -p ${dir(path)} && echo ${JSON.stringify(`made by the plan for: ${title}`)} > ${path}`,
      description: `write ${path}`,
      timeoutSeconds: null,
      expectedOutputs: [path],
      successIndicators: [],
      failureIndicators: [],
      retry: false,
      dependsOn: [],
    }));
    const parts: Record<string, unknown> = {
      complexity: { level: 'low', estimatedSteps: commands.length, risks: [], confidence: 0.9 },
      commands,
      decisionPoints: [],
      successCriteria: commands.map((c) => ({
        kind: 'file_exists',
        path: c.expectedOutputs[0],
        command: null,
        exitCode: null,
        text: null,
      })),
      fallbacks: [],
    };
    const wanted: Record<string, string[]> = {
      plan: Object.keys(parts),
      plan_analysis: ['complexity', 'commands', 'decisionPoints'],
      plan_criteria: ['successCriteria', 'fallbacks'],
      plan_complexity: ['complexity'],
      plan_commands: ['commands'],
      plan_decisionPoints: ['decisionPoints'],
      plan_successCriteria: ['successCriteria'],
      plan_fallbacks: ['fallbacks'],
    };
    const keys = wanted[request.schemaName.replace(/_repair$/, '')] ?? Object.keys(parts);
    return JSON.stringify(Object.fromEntries(keys.map((k) => [k, parts[k]])));
  };
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40) || 'task';
const dir = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.');
