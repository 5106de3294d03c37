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
  const queue: M[] = [];
  let head = 0;
  let pending = false;
  let ended = false;
  let failure: unknown;
  let markDrained: () => void = () => {};
  let drainedPromise: Promise<void> | undefined;

  const finish = (step: ReadStep, m: M): boolean => {
    on.handled(m);
    if (step === 'stop') {
      ended = true;
      on.end();
    }
    return !ended;
  };
  const fail = (error: unknown) => {
    failure = error;
    ended = true;
    on.end();
  };
  /** Handles queued messages until one returns a promise, the queue is empty, or the read ends. */
  const run = () => {
    while (!ended && head < queue.length) {
      const m = queue[head++] as M;
      // Handled messages leave the queue's front now and then: a follower that is never idle
      // (a busy run's coordinator) would otherwise hold every message of the run, and with each
      // the socket chunk its bytes were cut from.
      if (head >= RELEASE_EVERY) {
        queue.splice(0, head);
        head = 0;
      }
      let step: ReadStep | Promise<ReadStep>;
      try {
        step = onMessage(m);
      } catch (error) {
        fail(error);
        break;
      }
      if (step instanceof Promise) {
        pending = true;
        step.then(
          (s) => {
            pending = false;
            if (finish(s, m)) run();
            else settle();
          },
          (error) => {
            pending = false;
            fail(error);
            settle();
          },
        );
        return;
      }
      if (!finish(step, m)) break;
    }
    settle();
  };
  /** Once the read ended or the queue is handled: empty it, and say it is drained. */
  const settle = () => {
    if (!ended && head < queue.length) return;
    queue.length = head = 0;
    markDrained();
  };

  return {
    deliver: (m: M) => {
      if (ended) return;
      queue.push(m);
      if (queue.length - head === QUEUE_LIMIT) on.full();
      if (!pending) run();
    },
    busy: () => pending || head < queue.length,
    /** Messages the queue still references, handled or not. */
    held: () => queue.length,
    /** Resolves once nothing is queued and no handler is pending. */
    drained: (): Promise<void> => {
      if (!pending && head === queue.length) return Promise.resolve();
      drainedPromise ??= new Promise<void>((resolve) => (markDrained = resolve));
      return drainedPromise;
    },
    error: () => failure,
  };
}
