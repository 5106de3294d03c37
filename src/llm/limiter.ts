/**
 * Calls in flight to one endpoint, adapted to what it takes: additive increase (one more call per
 * limit's worth of successes), multiplicative decrease (half) on an overload answer. A burst of
 * failures from one overload (llama.cpp fails every busy slot at once) halves the limit once: only
 * a call started after the last decrease can decrease it again.
 */
export class Limiter {
  private limit: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly active = new Set<Slot>();
  private lastDecrease = -Infinity;

  constructor(
    /** The most calls at once (`llm.concurrency`). */
    readonly max: number,
    start: number,
  ) {
    this.limit = Math.min(max, Math.max(1, start));
  }

  /** Calls allowed in flight now. */
  get current(): number {
    return Math.max(1, Math.floor(this.limit));
  }

  /** Waits for room, then holds one place until the slot is released. */
  async acquire(): Promise<Slot> {
    // A released place is handed to the first waiter directly (counted for it), so the queue keeps its order.
    if (this.inFlight < this.current) this.inFlight++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    const slot: Slot = { startedAt: performance.now(), peak: this.inFlight, released: false };
    this.active.add(slot);
    for (const s of this.active) s.peak = Math.max(s.peak, this.inFlight);
    return slot;
  }

  release(slot: Slot, outcome: 'ok' | 'overloaded' | 'other'): void {
    if (slot.released) return;
    slot.released = true;
    this.active.delete(slot);
    this.inFlight--;
    if (outcome === 'ok') this.limit = Math.min(this.max, this.limit + 1 / this.limit);
    if (outcome === 'overloaded' && slot.startedAt > this.lastDecrease) {
      this.limit = Math.max(1, this.limit / 2);
      this.lastDecrease = performance.now();
    }
    while (this.waiting.length > 0 && this.inFlight < this.current) {
      this.inFlight++;
      this.waiting.shift()!();
    }
  }
}

/** One call's place: when it started, and the most calls in flight while it was. */
export type Slot = { startedAt: number; peak: number; released: boolean };

const limiters = new Map<string, Limiter>();

/** The limiter of an endpoint in this process, shared by every client that calls it. */
export function limiterFor(endpoint: string, max: number, start: number): Limiter {
  let limiter = limiters.get(endpoint);
  if (!limiter || limiter.max !== max) limiters.set(endpoint, (limiter = new Limiter(max, start)));
  return limiter;
}
