import { makeEvent, type AgentEvent, type FileChange, type StoredEvent } from '../../src/events/agent-events.ts';
import { eventIds } from '../../src/events/ids.ts';
import { contentHash } from '../../src/workspace/work-tree.ts';

/**
 * A task's records as a site's executor and the coordinator make them (route attempts, their
 * change sets, rollbacks and outcomes, with the ids the executor gives them), for the filter of
 * each task's current attempt and those who read a change set through it.
 */
export const runId = 'r1';

/** A new file `path` holding `text`: its change, and its bytes for a content store. */
export function newFile(path: string, text: string): { file: FileChange; bytes: Uint8Array } {
  const bytes = new TextEncoder().encode(text);
  const file: FileChange = {
    path,
    kind: 'file',
    before: null,
    after: contentHash(bytes),
    beforeMode: null,
    mode: 0o644,
    size: bytes.byteLength,
    stored: true,
  };
  return { file, bytes };
}

export const routed = (taskId: string, site: string, attempt: number, generation = 0) =>
  makeEvent(
    'TaskRouted',
    { runId, taskId, id: eventIds.routed(runId, taskId, generation, 0, attempt) },
    { site, attempt, reason: 'least loaded' },
  );

/** The `n`-th change set recorded by `attempt` of the task. */
export const filesChanged = (taskId: string, attempt: number, files: FileChange[], n = 0) =>
  makeEvent(
    'TaskFilesChanged',
    { runId, taskId, id: eventIds.taskRecord(runId, taskId, 'TaskFilesChanged', n, attempt) },
    { files, ignored: [], skipped: [], alongside: [], routeAttempt: attempt },
  );

/** `attempt`'s view discarded (a failure, or an attempt that learnt it was superseded). */
export const rolledBack = (taskId: string, attempt: number) =>
  makeEvent(
    'TaskRolledBack',
    { runId, taskId, id: eventIds.taskRecord(runId, taskId, 'TaskRolledBack', 0, attempt) },
    { restored: [], kept: [], discarded: true, routeAttempt: attempt },
  );

export const completed = (taskId: string, attempt: number, reopened = 0) =>
  makeEvent(
    'TaskCompleted',
    { runId, taskId, id: eventIds.outcome(runId, taskId, attempt, reopened) },
    { durationMs: 1, commands: 1, recoveries: 0, routeAttempt: attempt },
  );

export const reopened = (taskId: string, generation: number) =>
  makeEvent(
    'TaskReopened',
    { runId, taskId, id: eventIds.taskReopened(runId, taskId, generation) },
    { generation, reason: 'its change set was not applied' },
  );

/** Events as the log gives them back: in order, each with its sequence. */
export const stored = (events: AgentEvent[]): StoredEvent[] => events.map((e, i) => ({ ...e, seq: i + 1 }));
