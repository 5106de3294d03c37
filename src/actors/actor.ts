import type * as z from 'zod';
import type { AgentEvent } from '../events/agent-events.ts';
import type { AppendResult, EventLog } from '../events/event-log.ts';
import type { ActorName, WorkActor } from '../events/subjects.ts';
import type { Config } from '../config.ts';
import type { ContentStore, OutputStore, Requests, WorkQueue } from '../events/bus.ts';
import type { Snapshots } from '../projections/snapshots.ts';
import type { Role } from '../security/roles.ts';

/**
 * The one shape of an actor. Its pure core (a decide/evolve pair, or an XState machine whose
 * effects are injected) says what should happen as `Effect`s; `runActor` (run-actor.ts) takes
 * its inputs, performs the effects (retrying what is transient: the ids in the events and work
 * items make a repeat harmless), drops stale work, and stops it cleanly. A new actor is a new
 * `ActorDefinition`; see README.md in this folder.
 */

export type Logger = { info(msg: string): void; warn(msg: string): void; error(msg: string, error?: unknown): void };

/** Promises in flight that nobody awaits, so that shutting down can wait for them. */
export type BackgroundWork = {
  track(work: Promise<unknown>): void;
  /** Resolves when everything tracked has settled, or after `timeoutMs`. */
  settled(timeoutMs?: number): Promise<void>;
};

/**
 * What every actor host of a process shares: the event log, the snapshots, the work queue, the
 * requests, the config. Each is a contract with a NATS implementation (`openRuntime`) and one in
 * memory (`memoryRuntime` in test/helpers), so hosts run the same on both.
 */
export type Runtime = {
  /** The event log (JetStream). */
  store: EventLog;
  /** Projection snapshots (and the memory store): the agent_snapshots KV bucket. */
  snapshots: Snapshots;
  /** Work items between actors (the AGENT_WORK work queue). */
  work: WorkQueue;
  /** Request/reply (recovery requests, pings). */
  requests: Requests;
  /** Full command outputs (the agent_outputs object store). */
  outputs: OutputStore;
  /** File contents before and after each task (the agent_contents object store). */
  contents: ContentStore;
  config: Config;
  log: Logger;
  /** Appends made in the background (LLM call records): awaited before the connection closes. */
  background: BackgroundWork;
  /**
   * This process's runtime under `role` (an actor it hosts): its own connection where the server
   * tells roles apart, this one otherwise.
   */
  as?(role: Role): Promise<Runtime>;
  /** Waits for the background appends, then closes the connection once what is in flight is sent. */
  close(): Promise<void>;
};

/** What a core asks of the world. Performed in order by the host. */
export type Effect =
  /** Events appended in one round, in order. */
  | { kind: 'append'; events: readonly AgentEvent[] }
  /** A work item for another actor; `id` (from ids.ts) makes a repeat a no-op. */
  | { kind: 'send'; actor: WorkActor; verb: string; item: unknown; id: string; site?: string }
  /** Checkboxes ticked in a task list on disk, one byte each (a tick done before is a no-op); the host records TaskTicked. */
  | { kind: 'tick'; runId: string; tasksFile: string; tasks: readonly { id: string; line?: number | undefined }[] };

export const append = (...events: AgentEvent[]): Effect => ({ kind: 'append', events });
/** With `site`, the item goes to that site's own queue. */
export const send = (actor: WorkActor, verb: string, item: unknown, id: string, site?: string): Effect => ({
  kind: 'send',
  actor,
  verb,
  item,
  id,
  ...(site !== undefined ? { site } : {}),
});
export const tick = (
  runId: string,
  tasksFile: string,
  tasks: readonly { id: string; line?: number | undefined }[],
): Effect => ({
  kind: 'tick',
  runId,
  tasksFile,
  tasks,
});

/** What a handler gets from its host besides its input. */
export type ActorIO<R> = {
  rt: Runtime;
  /** The actor's long-lived resources in this process (a cache, a client), from `open`. */
  resources: R;
  /** Performs effects in order, each retried while its failure is transient and the actor runs. */
  perform(effects: readonly Effect[]): Promise<AppendResult[]>;
  /** Performs effects nobody waits for (heartbeats, recovery outcomes); `flushed` awaits them. */
  background(effects: readonly Effect[]): void;
  flushed(): Promise<void>;
  /** Aborted when the actor stops: work still in hand is left for another taker. */
  signal: AbortSignal;
  /** The input was delivered before to a taker that did not finish it. */
  redelivered: boolean;
};

/** The run and resume generation a work item belongs to: the host drops it once it is stale. */
export type RunRef = { runId: string; generation: number };

/** A handler's answer to a work item: effects to perform, then acknowledge; or leave it unfinished. */
export type WorkResult = readonly Effect[] | 'unfinished';

export type ActorInputs<R> =
  /** Work items from the work queue. */
  | {
      kind: 'work';
      actor: WorkActor;
      schema: z.ZodType;
      /** Items in hand at once in this process. */
      parallel(rt: Runtime): number;
      /** When given, an item of a finished, interrupted or since-resumed run is acknowledged unread. */
      run?(item: never): RunRef;
      /** Reads (and readies) what handling the item needs, at the same time as the staleness check. */
      observe?(item: never, rt: Runtime, resources: R): Promise<unknown>;
      handle(item: never, io: ActorIO<R>, observed: never): Promise<WorkResult>;
    }
  /** Requests, answered with what `handle` returns once its effects are performed. */
  | {
      kind: 'requests';
      subject: string;
      schema: z.ZodType;
      /** Servers in one queue group share the requests. */
      queue: string;
      handle(request: never, io: ActorIO<R>): Promise<{ reply: unknown; effects: readonly Effect[] }>;
      /** The answer to a request that failed (undecodable, or its handler threw). */
      replyOnError(error: unknown): unknown;
    };

export type ActorDefinition<R> = {
  name: ActorName;
  /** Opens what the actor keeps between inputs (caches, projections, clients). */
  open(rt: Runtime): Promise<R>;
  /** What it takes; none for an actor that only follows the log. */
  inputs?: ActorInputs<R>;
  close?(resources: R): Promise<void>;
};

/**
 * Declares work inputs with the item's type checked against the schema (the union above erases
 * it, so that definitions of every item type fit one `ActorDefinition`).
 */
export function workInputs<R, S extends z.ZodType, O = undefined>(inputs: {
  actor: WorkActor;
  schema: S;
  parallel(rt: Runtime): number;
  run?(item: z.infer<S>): RunRef;
  observe?(item: z.infer<S>, rt: Runtime, resources: R): Promise<O>;
  handle(item: z.infer<S>, io: ActorIO<R>, observed: O): Promise<WorkResult>;
}): ActorInputs<R> {
  return { kind: 'work', ...inputs };
}

export function requestInputs<R, S extends z.ZodType>(inputs: {
  subject: string;
  schema: S;
  queue: string;
  handle(request: z.infer<S>, io: ActorIO<R>): Promise<{ reply: unknown; effects: readonly Effect[] }>;
  replyOnError(error: unknown): unknown;
}): ActorInputs<R> {
  return { kind: 'requests', ...inputs };
}
