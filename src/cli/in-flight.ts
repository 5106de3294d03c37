import type { StoredEvent } from '../events/agent-events.ts';

/** A task whose commands started and that has no outcome yet, with its latest command. */
export type InFlightTask = { taskId: string; command: string; since: number };

/**
 * Which tasks of a run are executing right now, from its events: what an interruption waits for
 * and what live progress shows.
 */
export class InFlight {
  private readonly tasks = new Map<string, InFlightTask>();
  /** Tasks that completed while this was watching (their boxes get ticked). */
  readonly completed: string[] = [];

  see(event: StoredEvent): void {
    const id = event.taskId;
    if (id === undefined) return;
    if (event.type === 'CommandStarted') {
      const since = this.tasks.get(id)?.since ?? Date.parse(event.at);
      this.tasks.set(id, { taskId: id, command: event.data.command.split('\n')[0] ?? '', since });
    } else if (event.type === 'TaskCompleted' || event.type === 'TaskFailed' || event.type === 'TaskSkipped') {
      if (event.type === 'TaskCompleted' && !this.completed.includes(id)) this.completed.push(id);
      this.tasks.delete(id);
    }
  }

  get size(): number {
    return this.tasks.size;
  }

  list(): InFlightTask[] {
    return [...this.tasks.values()];
  }
}
