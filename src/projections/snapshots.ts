/** A projection's saved state: its version, the last sequence folded into it, and the state. */
export type Snapshot<S> = { version: number; lastSeq: number; at: string; state: S };

/** Where snapshots are kept: the KV bucket (nats/snapshot-store.ts) or memory (below). */
export interface Snapshots {
  load<S>(name: string): Promise<Snapshot<S> | undefined>;
  save<S>(name: string, snapshot: Snapshot<S>): Promise<void>;
}

/** Snapshots in memory, for projections and hosts tested without a server. */
export class MemorySnapshots implements Snapshots {
  private readonly saved = new Map<string, string>();

  async load<S>(name: string): Promise<Snapshot<S> | undefined> {
    const text = this.saved.get(name);
    // Stored as JSON, as the KV bucket does: a caller never shares state with what was saved.
    return text === undefined ? undefined : (JSON.parse(text) as Snapshot<S>);
  }

  async save<S>(name: string, snapshot: Snapshot<S>): Promise<void> {
    this.saved.set(name, JSON.stringify(snapshot));
  }
}
