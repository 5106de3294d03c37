import { join } from 'node:path';
import { makeEvent, type AgentEvent } from '../../src/events/agent-events.ts';
import { eventIds } from '../../src/events/ids.ts';

/** A run's RunStarted as `run` records it: one task (`1`) in `workdir`, offline, one at a time; `project` when a site may take it. */
export const runStartedEvent = (runId: string, workdir: string, project?: { snapshot: string }): AgentEvent =>
  makeEvent(
    'RunStarted',
    { runId, id: eventIds.run(runId, 'RunStarted') },
    {
      tasksFile: join(workdir, 'tasks.md'),
      workdir,
      taskIds: ['1'],
      alreadyDone: [],
      options: {
        taskConcurrency: 1,
        commandConcurrency: 1,
        continuePolicy: 'dependencies-successful',
        llm: 'offline',
        planAhead: 0,
        skipOptional: false,
      },
      ...(project ? { project } : {}),
    },
  );
