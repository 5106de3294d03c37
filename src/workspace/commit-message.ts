import type { CommitMessage } from './git.ts';

/** Trailers that tie a commit to its run and task (`git log --grep`, `git interpret-trailers`). */
export const TRAILERS = { run: 'Implement-Agent-Run', task: 'Implement-Agent-Task' } as const;

/** A task's commit: its title, then its description and requirements, then the trailers. */
export function commitMessage(item: {
  runId: string;
  taskId: string;
  title?: string | undefined;
  description?: string[] | undefined;
  requirements?: string[] | undefined;
}): CommitMessage {
  const description = (item.description ?? []).join('\n').trim();
  const requirements = item.requirements?.length ? `Requirements: ${item.requirements.join(', ')}` : '';
  return {
    title: item.title ?? `task ${item.taskId}`,
    body: [description, requirements].filter(Boolean).join('\n\n'),
    trailers: { [TRAILERS.run]: item.runId, [TRAILERS.task]: item.taskId },
  };
}
