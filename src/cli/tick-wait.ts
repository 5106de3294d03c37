import type { StoredEvent } from '../events/agent-events.ts';

/** How long a stopped run's CLI waits for the TaskTicked of the tasks it saw complete. */
export const TICK_WAIT_MS = 5000;

/**
 * A run stopping (interrupted, paused, out of budget) is followed until every task it saw
 * complete has its TaskTicked, so the boxes the CLI names as ticked are; bounded, for a
 * coordinator that is gone. The log says it: nothing reads the task list.
 */
export class TickWait {
  /** Tasks seen complete with evidence: the coordinator ticks them (one completed unverified is not). */
  private readonly due = new Set<string>();
  private readonly ticked = new Set<string>();
  private stopping = false;
  private bound: NodeJS.Timeout | undefined;

  constructor(private readonly stop: () => void) {}

  see(event: StoredEvent): void {
    if (event.taskId === undefined) return;
    if (event.type === 'TaskCompleted' && event.data.evidence !== 'none') this.due.add(event.taskId);
    if (event.type === 'TaskTicked') this.ticked.add(event.taskId);
    if (this.stopping) this.stopIfTicked();
  }

  /** Stops once every completed task is ticked, or after `boundMs`. */
  stopWhenTicked(boundMs: number): void {
    this.stopping = true;
    this.bound ??= setTimeout(this.stop, boundMs);
    this.stopIfTicked();
  }

  close(): void {
    clearTimeout(this.bound);
  }

  private stopIfTicked(): void {
    if ([...this.due].every((id) => this.ticked.has(id))) this.stop();
  }
}
