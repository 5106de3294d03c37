import type { StoredEvent } from '../events/agent-events.ts';

/** A task whose commands started and that has no outcome yet, with its latest command. */
export type InFlightTask = {
  taskId: string;
  title: string;
  commandId: string;
  command: string;
  /** When its first command started, and when the current one did (epoch ms). */
  since: number;
  commandSince: number;
  /** The command's latest output line (from its heartbeats), '' before the first. */
  lastLine: string;
};

/**
 * Which tasks of a run are executing right now, from its events: what an interruption waits for
 * and what live progress shows.
 */
export class InFlight {
  private readonly tasks = new Map<string, InFlightTask>();
  private readonly titles = new Map<string, string>();
  /** Tasks that completed while this was watching (their boxes get ticked). */
  readonly completed: string[] = [];
  private readonly completedIds = new Set<string>();

  see(event: StoredEvent): void {
    const id = event.taskId;
    if (id === undefined) return;
    switch (event.type) {
      case 'TaskSubmitted':
        this.titles.set(id, event.data.task.title);
        return;
      case 'CommandStarted': {
        const at = Date.parse(event.at);
        const command = event.data.command.split('\n')[0] ?? '';
        this.tasks.set(id, {
          taskId: id,
          title: this.titles.get(id) ?? '',
          commandId: event.data.commandId,
          command,
          since: this.tasks.get(id)?.since ?? at,
          commandSince: at,
          lastLine: '',
        });
        return;
      }
      case 'CommandHeartbeat': {
        const task = this.tasks.get(id);
        if (task?.commandId === event.data.commandId) task.lastLine = event.data.lastLine;
        return;
      }
      case 'TaskCompleted':
      case 'TaskFailed':
      case 'TaskSkipped':
        if (event.type === 'TaskCompleted' && !this.completedIds.has(id)) {
          this.completedIds.add(id);
          this.completed.push(id);
        }
        this.tasks.delete(id);
        return;
      default:
        return;
    }
  }

  get size(): number {
    return this.tasks.size;
  }

  list(): InFlightTask[] {
    return [...this.tasks.values()];
  }
}
