import { createHash } from 'node:crypto';
import type { TaskSpec } from '../tasklist/task-spec.ts';

/** The text a task is planned from, normalised so whitespace and case do not change its key. */
export function taskText(task: TaskSpec): string {
  const parts = [
    task.title,
    ...task.description,
    ...task.success.map((s) => JSON.stringify(s)),
    ...(task.criteria ?? []).map((c) => `criterion: ${c}`),
  ];
  return parts.map((p) => p.toLowerCase().replace(/\s+/g, ' ').trim()).join('\n');
}

/** Plan cache key: hash(normalised task text + checksum of the context it was planned with). */
export function taskKey(task: TaskSpec, contextChecksum: string): string {
  return createHash('sha256').update(taskText(task)).update('\0').update(contextChecksum).digest('hex').slice(0, 32);
}
