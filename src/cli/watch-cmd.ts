import { loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import { agentEventTypes, type AgentEventType } from '../events/agent-events.ts';
import { EventStore } from '../nats/event-store.ts';
import { eventSubjects } from '../events/subjects.ts';
import { join } from 'node:path';
import { summarizeRuns } from '../report/run-summary.ts';
import { settleState } from './project-state.ts';
import { connectNats, natsTarget } from '../nats/connection.ts';
import { lockedServerUrl } from '../nats/store-lock.ts';
import { refuseLocalDomain, remoteAuth } from './nats-for.ts';
import { eventLine } from './event-line.ts';
import { err, out, outJson } from './terminal.ts';

export type WatchFlags = { run?: string; task?: string; types?: string[]; since?: string; json?: boolean };

/**
 * `implement-agent watch`: a live stream of events, filtered by run, task and types, from now
 * (default), from a sequence, from a time (absolute, or `30s`/`5m`/`1h`/`2d` ago), or from the
 * start of the log. Following one run, it stops when the run finishes. With no filter at all, it
 * follows the run under way. Needs a running NATS: the project's (whoever started it), or -s URL.
 */
export async function watchCommand(flags: WatchFlags): Promise<number> {
  const types = new Set((flags.types ?? []).flatMap((t) => t.split(',')).filter(Boolean));
  const unknown = [...types].filter((t) => !agentEventTypes.includes(t as AgentEventType));
  if (unknown.length)
    throw new InputError(
      `unknown event type ${unknown.map((t) => `"${t}"`).join(', ')}; --type takes: ${agentEventTypes.join(', ')}`,
    );
  const from = parseSince(flags.since);
  const config = await loadConfig();
  if (!config.natsUrl) refuseLocalDomain(config);
  await settleState(config, process.cwd(), { create: false, remote: config.natsUrl !== undefined });
  const storeDir = join(config.stateDir, 'nats');
  // Without NATS_URL: the server a run, `up` or another command runs on the project's store.
  const url = config.natsUrl ?? (await lockedServerUrl(storeDir));
  if (!url)
    throw new InputError(
      `watch follows a running system, and nothing runs on ${storeDir}: start a run (or \`implement-agent up\`), or name a server with -s URL`,
    );
  const nc = await connectNats(
    url,
    'implement-agent watch',
    await remoteAuth(url, storeDir),
    'monitor',
    natsTarget(config),
  );
  const store = await EventStore.open(nc);
  const unfiltered = !flags.run && !flags.task && types.size === 0;
  const active = unfiltered ? await activeRun(store) : undefined;
  if (active) flags = { ...flags, run: active.runId };
  // One type goes into the subject filter; several (or a run to stop at) are filtered here,
  // since nats-server 2.9 consumers take one filter subject.
  const single = types.size === 1 && !flags.run ? ([...types][0] as AgentEventType) : undefined;
  const subject = eventSubjects.filter({
    ...(flags.run ? { runId: flags.run } : {}),
    ...(flags.task && !flags.run ? { taskId: flags.task } : {}),
    ...(single ? { type: single } : {}),
  });
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  if (flags.run && from === 'new') {
    const finished = (await store.read({ subject: eventSubjects.runLevel(flags.run) })).find(
      (e) => e.type === 'RunFinished',
    );
    if (finished?.type === 'RunFinished') {
      err(`run ${flags.run} already finished (${finished.data.status}); --since start shows its events`);
      await nc.drain();
      return 0;
    }
  }
  const sub = await store.follow({ subject, from }, (e) => {
    const shown = (types.size === 0 || types.has(e.type)) && (!flags.task || e.taskId === flags.task);
    if (shown && flags.json) outJson(e);
    else if (shown) out(eventLine(e));
    if (flags.run && e.type === 'RunFinished') stop();
  });
  // Said once it listens: from here on, nothing of the run is missed.
  if (flags.run)
    err(
      `following run ${flags.run}${active ? ` (${active.tasksFile}, started ${active.startedAt})` : ''} until it finishes`,
    );
  else if (unfiltered) err('no run is under way: every new event is shown');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await stopped;
  await sub.stop();
  await nc.drain();
  return 0;
}

/** The newest run whose log has no end yet: the one under way, when one is. */
async function activeRun(store: EventStore) {
  return summarizeRuns(await store.read({ subject: eventSubjects.runLevelOfAll() })).find(
    (r) => r.state === 'unfinished',
  );
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseSince(since: string | undefined, now = Date.now()): 'new' | 'start' | number | Date {
  if (since === undefined || since === 'now') return 'new';
  if (since === 'start' || since === '0') return 'start';
  if (/^\d+$/.test(since)) return Number(since);
  const ago = /^(\d+(?:\.\d+)?)([smhd])$/.exec(since);
  if (ago) return new Date(now - Number(ago[1]) * UNIT_MS[ago[2]!]!);
  const time = new Date(since);
  if (Number.isNaN(time.getTime()))
    throw new InputError(
      `--since takes a sequence number, a time (ISO, or 30s/5m/1h/2d ago), "start" or "now", not "${since}"`,
    );
  return time;
}
