import type { AgentEventType } from './agent-events.ts';

/** Every NATS subject and JetStream name of the system is built here, nowhere else. */

export const EVENTS_STREAM = 'AGENT_EVENTS';
export const WORK_STREAM = 'AGENT_WORK';
export const SNAPSHOT_BUCKET = 'agent_snapshots';
export const OUTPUT_BUCKET = 'agent_outputs';
/** File contents before and after each task, named by their sha256: shared, so stored once. */
export const CONTENT_BUCKET = 'agent_contents';
/** Snapshots too large for a KV value (a long run's status): the KV entry then points here. */
export const LARGE_SNAPSHOT_BUCKET = 'agent_snapshots_large';
/** The JetStream stream behind an object store bucket, and the subject of one object's chunks (nats.js's layout). */
export const objectStream = (bucket: string): string => `OBJ_${bucket}`;
export const objectChunks = (bucket: string, nuid: string): string => `$O.${bucket}.C.${nuid}`;

const NO_TASK = '_';
/** The log's pseudo-run of the sites' heartbeats (run ids start with a letter): agent.events._sites.<site>.<Type>. */
export const SITES_RUN = '_sites';
export { SITE_NAME } from '../tasklist/task-spec.ts';
/** A JetStream domain (`natsDomain`, `cluster init --domain`): one subject token. */
export const JS_DOMAIN = /^[A-Za-z0-9_-]+$/;

/**
 * The JetStream API's subject prefix: the local one, or a domain's, which a server maps to its
 * own API when it is that domain's and which crosses a leaf node's link (docs/scaling.md).
 */
export const jsApiPrefix = (domain: string | undefined): string =>
  domain === undefined ? '$JS.API' : `$JS.${domain}.API`;

/** Task ids contain dots ("1.1"), which NATS reserves as token separators. */
function taskToken(taskId: string | undefined): string {
  return taskId === undefined ? NO_TASK : taskId.replaceAll('.', '-');
}

export const eventSubjects = {
  /** Where one event is stored: agent.events.<runId>.<task|_>.<Type>. */
  of: (runId: string, taskId: string | undefined, type: AgentEventType) =>
    `agent.events.${runId}.${taskToken(taskId)}.${type}`,
  all: () => 'agent.events.>',
  run: (runId: string) => `agent.events.${runId}.>`,
  /** The run's own events (started, interrupted, resumed, finished), not its tasks'. */
  runLevel: (runId: string) => `agent.events.${runId}.${NO_TASK}.*`,
  /** The run-level events of every run. */
  runLevelOfAll: () => `agent.events.*.${NO_TASK}.*`,
  task: (runId: string, taskId: string) => `agent.events.${runId}.${taskToken(taskId)}.*`,
  type: (type: AgentEventType) => `agent.events.*.*.${type}`,
  /** Every site's heartbeats. */
  sites: () => `agent.events.${SITES_RUN}.>`,
  /** Filter for watch: any part left out matches everything. */
  filter: (f: { runId?: string; taskId?: string; type?: AgentEventType }) =>
    `agent.events.${f.runId ?? '*'}.${f.taskId === undefined ? '*' : taskToken(f.taskId)}.${f.type ?? '*'}`,
};

/** Every actor, in one list: the type, the CLI's `actor` names and the tests all come from it. */
export const actorNames = ['coordinator', 'decomposer', 'executor', 'recoverer', 'memory'] as const;
export type ActorName = (typeof actorNames)[number];

/** Actors that take work from the AGENT_WORK work queue; the others answer requests or read events. */
export const workActors = ['coordinator', 'decomposer', 'executor'] as const satisfies readonly ActorName[];
export type WorkActor = (typeof workActors)[number];

export const commandSubjects = {
  /** Work items: agent.cmd.<actor>.<verb>, stored in the AGENT_WORK work queue. */
  work: (actor: WorkActor, verb: string) => `agent.cmd.${actor}.${verb}`,
  actorWork: (actor: WorkActor) => `agent.cmd.${actor}.>`,
  /** A site's own queue of execute items (Temporal's worker-specific queue): agent.site.<site>.<verb>. */
  siteWork: (site: string, verb: string) => `agent.site.${site}.${verb}`,
  siteQueue: (site: string) => `agent.site.${site}.>`,
  /** Every site's queue: one subject space of the work stream, apart from the shared executor queue. */
  allSites: () => 'agent.site.>',
  /** Request/reply, core NATS with a queue group: the recoverer's decisions. */
  recover: () => 'agent.cmd.recoverer.recover',
  /** Liveness: every host answers on agent.ctl.<actor>.ping. */
  ping: (actor: ActorName) => `agent.ctl.${actor}.ping`,
};

export const consumerNames = {
  work: (actor: WorkActor) => `work-${actor}`,
  site: (site: string) => `work-site-${site}`,
};
