import type { Runtime } from '../actors/actor.ts';
import { InputError } from '../errors.ts';
import type { StoredEvent } from '../events/agent-events.ts';

/** A run's events from the log, for the commands that look at one run; a run the log does not hold is bad input. */
export async function recordedRun(rt: Runtime, runId: string): Promise<StoredEvent[]> {
  const events = await rt.store.readRun(runId);
  if (events.length === 0)
    throw new InputError(`no events for run ${runId} in this log (\`implement-agent runs\` lists the runs)`);
  return events;
}
