import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { AgentEventSchema } from '../../events/agent-events.ts';
import { decodeJson } from '../../events/codec.ts';
import { EVENTS_STREAM, consumerNames, eventSubjects } from '../../events/subjects.ts';
import { TASK_HISTORY, evolveTaskHistory, initialTaskHistory, type TaskHistory } from '../../projections/task-history.ts';
import type { Runtime } from '../runtime.ts';

export type MemoryOptions = { flushEvery?: number; flushMs?: number };

/**
 * The memory actor: a durable consumer of the whole event stream that folds what was learned into
 * the task history and writes it in batches (every N events or T ms). Nobody waits on it. Events
 * are acknowledged only after the batch that holds them is written. At start the consumer is
 * positioned just after the last written batch, so after a crash it resumes there, in order, and
 * each event is applied exactly once. One memory actor runs at a time: it is the history's writer.
 */
export async function startMemory(rt: Runtime, options: MemoryOptions = {}) {
  const flushEvery = options.flushEvery ?? rt.config.snapshots.everyEvents;
  // Memory is read back as planning context, so it is written at least every second.
  const flushMs = options.flushMs ?? Math.min(1000, rt.config.snapshots.everyMs);
  const snapshot = await rt.snapshots.load<TaskHistory>(TASK_HISTORY.name);
  let state = snapshot?.version === TASK_HISTORY.version ? snapshot.state : initialTaskHistory();
  let lastApplied = snapshot?.version === TASK_HISTORY.version ? snapshot.lastSeq : 0;
  let batch: JsMsg[] = [];
  let writing = Promise.resolve();

  await positionMemoryConsumer(rt, lastApplied);
  const consumer = await rt.js.consumers.get(EVENTS_STREAM, consumerNames.memory());
  const messages = await consumer.consume({ max_messages: 1000 });

  const flush = () => {
    if (batch.length === 0) return writing;
    const acks = batch;
    const snap = { version: TASK_HISTORY.version, lastSeq: lastApplied, at: new Date().toISOString(), state };
    batch = [];
    writing = writing
      .then(() => rt.snapshots.save(TASK_HISTORY.name, snap))
      // AckPolicy.All: acknowledging the batch's last event acknowledges the whole batch.
      .then(() => acks.at(-1)?.ack())
      .catch((error: unknown) => rt.log.error('memory: batch write failed; its events will be redelivered', error));
    return writing;
  };
  const timer = setInterval(() => void flush(), flushMs);

  const loop = (async () => {
    for await (const m of messages) {
      if (m.seq > lastApplied) {
        try {
          state = evolveTaskHistory(state, { ...decodeJson(AgentEventSchema, m.subject, m.data), seq: m.seq });
        } catch (error) {
          rt.log.warn(`memory: skipping undecodable event ${m.seq}: ${(error as Error).message}`);
        }
        lastApplied = m.seq;
      }
      batch.push(m);
      if (batch.length >= flushEvery) void flush();
    }
  })();

  return {
    state: () => state,
    stop: async () => {
      clearInterval(timer);
      await messages.close();
      await loop;
      await flush();
    },
  };
}

/**
 * (Re)creates the durable consumer at the first event after the last written batch: events a
 * dead process had in hand come again at once and in order, not after an ack timeout.
 */
async function positionMemoryConsumer(rt: Runtime, lastApplied: number): Promise<void> {
  await rt.store.jsm.consumers.delete(EVENTS_STREAM, consumerNames.memory()).catch((error: unknown) => {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
  });
  const config = {
    durable_name: consumerNames.memory(),
    filter_subject: eventSubjects.all(),
    ack_policy: AckPolicy.All,
    ...(lastApplied > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastApplied + 1 } : { deliver_policy: DeliverPolicy.All }),
    ack_wait: nanos(60_000),
    max_ack_pending: 50_000,
    // Recreated at every start from the snapshot, so one replica is enough, and on a cluster
    // it is created at once instead of waiting for a three-way election.
    num_replicas: 1,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await rt.store.jsm.consumers.add(EVENTS_STREAM, config);
      return;
    } catch (error) {
      // A cluster that is electing leaders answers late: ask again a few times.
      if (attempt >= 5) throw error;
      rt.log.warn(`memory: creating its consumer failed (${(error as Error).message}); trying again`);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}
