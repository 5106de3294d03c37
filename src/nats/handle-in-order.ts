/** What a message handler says: go on, or end the read. */
export type ReadStep = void | 'stop';

/**
 * Messages that may wait while the handler is busy with an earlier one (about 10 MB of them).
 * Past this many the reader stops its consumer and, once the handler has caught up, opens a new
 * one after the last message handled, so a slow handler never holds more than about this many.
 * Only a last resort: on nats-server 2.9 a consumer opened mid-stream on a filter of many
 * subjects (a run's) delivers what is stored at about 2,000 messages a second, against 100,000
 * from the start.
 */
export const QUEUE_LIMIT = 10_000;

/** Handled messages dropped from the queue's front at a time. */
const RELEASE_EVERY = 256;

type HandlerEvents<M> = {
  /** A message was handled. */
  handled(m: M): void;
  /** The queue reached QUEUE_LIMIT. */
  full(): void;
  /** The handler said 'stop' or failed: what is queued is dropped. */
  end(): void;
};

/**
 * Hands messages to `onMessage` one at a time, in the order delivered: at once while it is idle
 * and returns plain values; queued while a promise it returned is pending.
 */
export function handleInOrder<M>(onMessage: (m: M) => ReadStep | Promise<ReadStep>, on: HandlerEvents<M>) {
  return new InOrderQueue(onMessage, on);
}

class InOrderQueue<M> {
  private readonly queue: M[] = [];
  /** The next message to handle: those before it are handled, kept until released. */
  private head = 0;
  private pending = false;
  private ended = false;
  private failure: unknown;
  private markDrained: () => void = () => {};
  private drainedPromise: Promise<void> | undefined;

  constructor(
    private readonly onMessage: (m: M) => ReadStep | Promise<ReadStep>,
    private readonly on: HandlerEvents<M>,
  ) {}

  readonly deliver = (m: M): void => {
    if (this.ended) return;
    this.queue.push(m);
    if (this.queue.length - this.head === QUEUE_LIMIT) this.on.full();
    if (!this.pending) this.run();
  };

  busy(): boolean {
    return this.pending || this.head < this.queue.length;
  }

  /** Messages the queue still references, handled or not. */
  held(): number {
    return this.queue.length;
  }

  /** Resolves once nothing is queued and no handler is pending. */
  drained(): Promise<void> {
    if (!this.pending && this.head === this.queue.length) return Promise.resolve();
    this.drainedPromise ??= new Promise<void>((resolve) => (this.markDrained = resolve));
    return this.drainedPromise;
  }

  error(): unknown {
    return this.failure;
  }

  /** Handles queued messages until one returns a promise, the queue is empty, or the read ends. */
  private run(): void {
    while (!this.ended && this.head < this.queue.length) {
      const m = this.queue[this.head++] as M;
      // Handled messages leave the queue's front now and then: a follower that is never idle
      // (a busy run's coordinator) would otherwise hold every message of the run, and with each
      // the socket chunk its bytes were cut from.
      if (this.head >= RELEASE_EVERY) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      let step: ReadStep | Promise<ReadStep>;
      try {
        step = this.onMessage(m);
      } catch (error) {
        this.fail(error);
        break;
      }
      if (step instanceof Promise) {
        this.waitFor(step, m);
        return;
      }
      if (!this.finish(step, m)) break;
    }
    this.settle();
  }

  private waitFor(step: Promise<ReadStep>, m: M): void {
    this.pending = true;
    step.then(
      (s) => {
        this.pending = false;
        if (this.finish(s, m)) this.run();
        else this.settle();
      },
      (error: unknown) => {
        this.pending = false;
        this.fail(error);
        this.settle();
      },
    );
  }

  private finish(step: ReadStep, m: M): boolean {
    this.on.handled(m);
    if (step === 'stop') {
      this.ended = true;
      this.on.end();
    }
    return !this.ended;
  }

  private fail(error: unknown): void {
    this.failure = error;
    this.ended = true;
    this.on.end();
  }

  /** Once the read ended or the queue is handled: empty it, and say it is drained. */
  private settle(): void {
    if (!this.ended && this.head < this.queue.length) return;
    this.queue.length = this.head = 0;
    this.markDrained();
  }
}
