import * as z from 'zod';
import { decodeJson, encodeJson } from '../events/codec.ts';
import type { StartRun } from '../events/work-commands.ts';
import { TaskSpecSchema } from '../tasklist/task-spec.ts';
import { contentHash } from '../workspace/work-tree.ts';
import { storedContent } from '../workspace/stored-content.ts';
import type { Runtime } from '../actors/actor.ts';

/**
 * Work items travel as one NATS message, within the server's max_payload (1 MB in nats.conf). A
 * start item above this carries its tasks in the content store instead (a tasks.md of a few MB
 * is thousands of tasks), named by their sha256, which the coordinator checks when it reads them.
 */
export const MAX_INLINE_START_BYTES = 256 * 1024;

const TasksSchema = z.array(TaskSpecSchema);

/** The start item to send: `start` itself, or with its tasks in the content store when they are too large for a message. */
export async function packStartItem(rt: Runtime, start: StartRun): Promise<StartRun> {
  if (encodeJson(start).byteLength <= MAX_INLINE_START_BYTES) return start;
  const bytes = encodeJson(start.tasks);
  const name = contentHash(bytes);
  await rt.contents.put(name, bytes);
  return { ...start, tasks: [], tasksContent: name };
}

/** The start item with its tasks, read back from the content store (checked against their hash) when they were put there. */
export async function unpackStartItem(rt: Runtime, item: StartRun): Promise<StartRun> {
  if (item.tasksContent === undefined) return item;
  const what = `the task list of run ${item.runId}`;
  const bytes = await storedContent(rt.contents, item.tasksContent, what);
  if (!bytes) throw new Error(`${what} is not in the content store (${item.tasksContent})`);
  const { tasksContent: _, ...start } = item;
  return { ...start, tasks: decodeJson(TasksSchema, what, bytes) };
}
