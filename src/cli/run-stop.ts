import type { Runtime } from '../actors/actor.ts';
import { makeEvent, type StoredEvent } from '../events/agent-events.ts';
import { eventIds } from '../events/ids.ts';
import { killAllCommandGroups } from '../exec/run-command.ts';
import type { InFlight } from './in-flight.ts';
import { TICK_WAIT_MS, TickWait } from './tick-wait.ts';

/**
 * How a followed run stops: a review point (--pause-after), a spent budget, Ctrl-C or a closed
 * terminal. When this process drives the run, the first Ctrl-C records RunInterrupted (nothing
 * new starts), lets the tasks in flight finish within `execution.interruptGraceMs` while a
 * countdown says what is still running, and waits for the finished tasks' ticks; a second Ctrl-C
 * (or the end of the grace period) stops the commands at once.
 */
export class RunStop {
  private readonly stopWatching = new AbortController();
  /** Aborted when the CLI stops following the run. */
  readonly signal = this.stopWatching.signal;
  private readonly ticks = new TickWait(() => this.stopWatching.abort());
  private readonly timers: NodeJS.Timeout[] = [];
  private interrupted = false;
  /** Why the coordinator stopped this generation of the run: its LLM budget is spent. */
  budgetStop: string | undefined;

  constructor(
    private readonly run: {
      rt: Runtime;
      runId: string;
      generation: number;
      /** This process hosts the coordinator: a Ctrl-C here is recorded in the log. */
      drivesRun: boolean;
      inFlight: InFlight;
      say: (line: string) => void;
    },
  ) {
    process.on('SIGINT', this.onSigint);
    process.on('SIGHUP', this.onSighup);
  }

  see(event: StoredEvent): void {
    const { runId, generation, inFlight } = this.run;
    this.ticks.see(event);
    if (event.type === 'RunInterrupted' && event.id === eventIds.budgetStop(runId, generation)) {
      this.budgetStop = event.data.reason;
      this.ticks.stopWhenTicked(TICK_WAIT_MS);
    }
    // A review point: stopped like a first Ctrl-C, its tasks in flight let finish.
    if (generation === 0 && event.type === 'RunInterrupted' && event.id === eventIds.reviewPause(runId))
      this.interrupted = true;
    if (this.interrupted && inFlight.size === 0) this.ticks.stopWhenTicked(TICK_WAIT_MS);
  }

  close(): void {
    process.off('SIGINT', this.onSigint);
    process.off('SIGHUP', this.onSighup);
    for (const t of this.timers) clearTimeout(t);
    this.ticks.close();
  }

  private readonly stopNow = (why: string) => {
    this.run.say(`${why}: stopping ${this.run.inFlight.size} task(s) in flight now`);
    killAllCommandGroups();
    this.stopWatching.abort();
  };

  // This process runs the run: record that the user stopped it, so that no actor started later
  // picks its work up until it is resumed on purpose.
  private readonly recordInterruption = (reason: string) =>
    this.run.rt.store.append(
      makeEvent(
        'RunInterrupted',
        { runId: this.run.runId, id: eventIds.runInterrupted(this.run.runId, Date.now()) },
        { reason },
      ),
    );

  private async interrupt(): Promise<void> {
    const { rt, inFlight, say } = this.run;
    await this.recordInterruption('interrupted by the user (SIGINT)');
    if (inFlight.size === 0) return this.ticks.stopWhenTicked(TICK_WAIT_MS);
    const graceMs = rt.config.execution.interruptGraceMs;
    const deadline = Date.now() + graceMs;
    const countdown = () => {
      const running = inFlight
        .list()
        .map((t) => `${t.taskId} (\`${t.command.slice(0, 60)}\`, ${Math.round((Date.now() - t.since) / 1000)}s)`);
      say(
        `interrupted: waiting for ${running.join(', ')} to finish; ${Math.max(0, Math.ceil((deadline - Date.now()) / 1000))}s left (Ctrl-C again to stop now)`,
      );
    };
    countdown();
    this.timers.push(
      setInterval(countdown, 5000),
      setTimeout(() => this.stopNow(`the ${Math.round(graceMs / 1000)}s grace period is over`), graceMs),
    );
  }

  private readonly onSigint = () => {
    if (this.interrupted) return this.stopNow('Ctrl-C again');
    this.interrupted = true;
    if (!this.run.drivesRun) return this.stopWatching.abort();
    this.interrupt().catch((error: unknown) => {
      this.run.say(`could not record the interruption: ${(error as Error).message}`);
      this.stopWatching.abort();
    });
  };

  // A closed terminal: like a second Ctrl-C (the interruption recorded when this process runs the run, the commands stopped now).
  private readonly onSighup = () => {
    const first = !this.interrupted && this.run.drivesRun;
    this.interrupted = true;
    const recorded = first ? this.recordInterruption('the terminal closed (SIGHUP)') : Promise.resolve();
    void recorded.catch(() => undefined).then(() => this.stopNow('the terminal closed'));
  };
}
