import { loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import { agentEventTypes, type AgentEventType } from '../events/agent-events.ts';
import { EventStore } from '../events/event-store.ts';
import { eventSubjects } from '../events/subjects.ts';
import { connectNats } from '../nats/connection.ts';
import { eventLine } from './event-line.ts';

export type WatchFlags = { run?: string; task?: string; type?: string; since?: string; json?: boolean };

/**
 * `implement-agent watch`: a live stream of events, filtered by run, task and type, from now
 * (default), from a sequence, from a time, or from the start of the log. Needs a running NATS.
 */
export async function watchCommand(flags: WatchFlags): Promise<number> {
  if (flags.type && !agentEventTypes.includes(flags.type as AgentEventType)) {
    throw new InputError(`--type must be one of: ${agentEventTypes.join(', ')}`);
  }
  const from = parseSince(flags.since);
  const config = await loadConfig();
  if (!config.natsUrl) throw new InputError('watch follows a running system: set NATS_URL (implement-agent up prints it)');
  const nc = await connectNats(config.natsUrl, 'implement-agent watch');
  const store = await EventStore.open(nc);
  const subject = eventSubjects.filter({
    ...(flags.run ? { runId: flags.run } : {}),
    ...(flags.task ? { taskId: flags.task } : {}),
    ...(flags.type ? { type: flags.type as AgentEventType } : {}),
  });
  const sub = await store.follow({ subject, from }, (e) => {
    process.stdout.write(`${flags.json ? JSON.stringify(e) : eventLine(e)}\n`);
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sub.stop();
  await nc.drain();
  return 0;
}

function parseSince(since: string | undefined): 'new' | 'start' | number | Date {
  if (since === undefined || since === 'now') return 'new';
  if (since === 'start' || since === '0') return 'start';
  if (/^\d+$/.test(since)) return Number(since);
  const time = new Date(since);
  if (Number.isNaN(time.getTime())) throw new InputError(`--since takes a sequence number, an ISO time, "start" or "now", not "${since}"`);
  return time;
}
