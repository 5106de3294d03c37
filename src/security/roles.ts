import type { AgentEventType } from '../events/agent-events.ts';
import {
  CONTENT_BUCKET,
  EVENTS_STREAM,
  LARGE_SNAPSHOT_BUCKET,
  SITES_RUN,
  OUTPUT_BUCKET,
  SNAPSHOT_BUCKET,
  WORK_STREAM,
  actorNames,
  commandSubjects,
  consumerNames,
  eventSubjects,
  jsApiPrefix,
  type ActorName,
  type WorkActor,
} from '../events/subjects.ts';

/**
 * Who may do what on the control plane: the one table. The nats-server authorization block is
 * generated from it (`authorizationBlock`), the table of roles in docs/access-control.md is written from it (`npm run docs`),
 * and each process connects under the role it plays, so a role's rights are exactly these.
 */
export const roleNames = [...actorNames, 'cli', 'monitor', 'admin'] as const;
export type Role = (typeof roleNames)[number];

/** `derived`: what it holds is rebuilt from the log, so its writers may purge what they replaced. */
type Bucket = { kind: 'kv' | 'obj'; name: string; derived?: true };
const snapshots: Bucket = { kind: 'kv', name: SNAPSHOT_BUCKET };
const largeSnapshots: Bucket = { kind: 'obj', name: LARGE_SNAPSHOT_BUCKET, derived: true };
const outputs: Bucket = { kind: 'obj', name: OUTPUT_BUCKET };
const contents: Bucket = { kind: 'obj', name: CONTENT_BUCKET };

export type RoleSpec = {
  /** What the role is for, in the words of docs/access-control.md. */
  purpose: string;
  /** Event types it appends (each on `agent.events.*.*.<Type>`). */
  events: readonly AgentEventType[];
  /** Work queues it puts items on. */
  sendsWork: readonly WorkActor[];
  /** The work queue it takes items from (its durable consumer). */
  takesWork?: WorkActor;
  /** Actors it asks over request/reply (pings). */
  pings: readonly ActorName[];
  /** Whether it sends execute items to every site's own queue (agent.site.>). */
  routesToSites?: true;
  /** Whether it asks the recoverer for a decision. */
  asksRecovery?: true;
  /** Request subjects it answers (its ping, the recovery requests). */
  serves: readonly string[];
  /** Buckets it writes; every role reads the event stream and every bucket it is given. */
  writes: readonly Bucket[];
  reads: readonly Bucket[];
};

/** Projection runners keep snapshots: every role that folds the log writes them. */
const folds = { writes: [snapshots, largeSnapshots], reads: [snapshots, largeSnapshots] };

export const ROLES: { readonly [R in Exclude<Role, 'admin'>]: RoleSpec } = {
  coordinator: {
    purpose: 'starts runs, hands tasks to the decomposer and executor, ticks tasks.md, finishes runs',
    events: [
      'RunStarted',
      'TaskSubmitted',
      'PlanInvalidated',
      'TaskRouted',
      'TaskWaiting',
      'TaskAttemptLost',
      'TaskSkipped',
      'TaskTicked',
      'RunInterrupted',
      'RunFinished',
    ],
    sendsWork: ['decomposer', 'executor'],
    routesToSites: true,
    takesWork: 'coordinator',
    pings: [],
    serves: [commandSubjects.ping('coordinator')],
    writes: folds.writes,
    // A start item too large for a message comes through the content store.
    reads: [...folds.reads, contents],
  },
  decomposer: {
    purpose: 'plans a task: explicit commands, the plan cache or the LLM',
    events: [
      'PlanCacheHit',
      'PlanCacheMiss',
      'LlmCalled',
      'LlmCapabilityLearned',
      'PlanCreated',
      'PlanCancelled',
      'TaskFailed',
    ],
    sendsWork: [],
    takesWork: 'decomposer',
    pings: [],
    serves: [commandSubjects.ping('decomposer')],
    ...folds,
  },
  executor: {
    purpose: 'runs a plan: commands, recovery, criteria, what the task changed',
    events: [
      'CommandStarted',
      'CommandHeartbeat',
      'CommandFinished',
      'CommandDenied',
      'RecoveryResolved',
      'RecoveryFailed',
      'TaskCompleted',
      'TaskFailed',
      'TaskFilesChanged',
      'TaskRolledBack',
    ],
    sendsWork: [],
    takesWork: 'executor',
    pings: [],
    asksRecovery: true,
    serves: [commandSubjects.ping('executor')],
    writes: [...folds.writes, outputs, contents],
    reads: [...folds.reads, outputs, contents],
  },
  recoverer: {
    purpose: 'decides how to recover from a failed command',
    events: ['RecoveryAttempted', 'LlmCalled', 'LlmCapabilityLearned'],
    sendsWork: [],
    pings: [],
    serves: [commandSubjects.ping('recoverer'), commandSubjects.recover()],
    ...folds,
  },
  memory: {
    purpose: 'keeps the task history projection',
    events: [],
    sendsWork: [],
    pings: [],
    serves: [commandSubjects.ping('memory')],
    ...folds,
  },
  cli: {
    purpose: '`run` (`--dry --plan` too), `resume`, `revert`, `verify`, `llm check`, `status` and the other commands',
    events: [
      'RunInterrupted',
      'RunResumed',
      'TaskReopened',
      'TaskReverted',
      'RunVerified',
      'LlmCalled',
      'LlmCapabilityLearned',
      'PlanDrafted',
    ],
    sendsWork: ['coordinator'],
    pings: actorNames,
    serves: [],
    // Contents: a start item too large for a message, and what `revert --force` writes over.
    writes: [...folds.writes, contents],
    reads: [...folds.reads, outputs, contents],
  },
  monitor: {
    purpose: '`watch` and the host of `up`: reads the log and the snapshots, writes nothing',
    events: [],
    sendsWork: [],
    pings: [],
    serves: [],
    writes: [],
    reads: folds.reads,
  },
};

/** The role an actor connects under. */
export const roleOf = (actor: ActorName): Role => actor;

export type Permissions = { publish: string[]; subscribe: string[] };

const api = (...tokens: string[]) => `${jsApiPrefix(undefined)}.${tokens.join('.')}`;
const streamOf = (b: Bucket) => (b.kind === 'kv' ? `KV_${b.name}` : `OBJ_${b.name}`);
const subjectsOf = (b: Bucket) => (b.kind === 'kv' ? `$KV.${b.name}.>` : `$O.${b.name}.>`);

/** Reading a stream: its info, single messages, and ordered consumers of its own. */
function readStream(stream: string): string[] {
  return [
    api('STREAM', 'INFO', stream),
    api('STREAM', 'MSG', 'GET', stream),
    api('DIRECT', 'GET', stream),
    api('DIRECT', 'GET', stream, '>'),
    api('CONSUMER', 'CREATE', stream),
    api('CONSUMER', 'CREATE', stream, '>'),
    api('CONSUMER', 'INFO', stream, '>'),
    api('CONSUMER', 'DELETE', stream, '>'),
    api('CONSUMER', 'MSG', 'NEXT', stream, '>'),
    `$JS.FC.${stream}.>`,
  ];
}

/**
 * What the server lets `role` publish and subscribe: nothing that is not in its row. With a
 * JetStream `domain` (config natsDomain), as that domain's clients address it (`inDomain`).
 */
export function permissionsOf(role: Role, domain?: string): Permissions {
  if (role === 'admin') return { publish: ['>'], subscribe: ['>'] };
  const local = localPermissionsOf(role);
  return { publish: inDomain(local.publish, domain), subscribe: local.subscribe };
}

/**
 * A domain's rights: each JetStream API subject and KV write also as the domain's client sends it
 * (`$JS.<d>.API.…`, `$JS.<d>.API.$KV.…`), for the same streams and consumers. The local one stays:
 * a node maps a local client's prefixed request to it and checks that (nats-server 2.9).
 */
function inDomain(publish: string[], domain: string | undefined): string[] {
  if (domain === undefined) return publish;
  const local = `${jsApiPrefix(undefined)}.`;
  const prefixed = (s: string) =>
    s.startsWith(local) ? `${jsApiPrefix(domain)}.${s.slice(local.length)}` : `${jsApiPrefix(domain)}.${s}`;
  return publish.flatMap((s) => (s.startsWith(local) || s.startsWith('$KV.') ? [s, prefixed(s)] : [s]));
}

function localPermissionsOf(role: Exclude<Role, 'admin'>): Permissions {
  const spec = ROLES[role];
  const publish = new Set<string>([api('INFO'), ...readStream(EVENTS_STREAM)]);
  for (const type of spec.events) publish.add(eventSubjects.type(type));
  for (const actor of spec.sendsWork) publish.add(commandSubjects.actorWork(actor));
  if (spec.routesToSites) publish.add(commandSubjects.allSites());
  for (const actor of spec.pings) publish.add(commandSubjects.ping(actor));
  if (spec.asksRecovery) publish.add(commandSubjects.recover());
  if (spec.takesWork) for (const s of takes(consumerNames.work(spec.takesWork))) publish.add(s);
  for (const bucket of new Set([...spec.reads, ...spec.writes]))
    for (const s of readStream(streamOf(bucket))) publish.add(s);
  for (const bucket of spec.writes) {
    publish.add(subjectsOf(bucket));
    // Deleting a superseded large snapshot purges its chunks; the log itself is never purgeable.
    if (bucket.derived) publish.add(api('STREAM', 'PURGE', streamOf(bucket)));
  }
  // Replies: to its own requests (any role) and to the requests it serves (allow_responses).
  return { publish: [...publish], subscribe: ['_INBOX.>', ...spec.serves] };
}

/** Taking items from a durable consumer of the work stream. */
const takes = (consumer: string) => [
  api('STREAM', 'INFO', WORK_STREAM),
  api('CONSUMER', 'INFO', WORK_STREAM, consumer),
  api('CONSUMER', 'MSG', 'NEXT', WORK_STREAM, consumer),
  `$JS.ACK.${WORK_STREAM}.${consumer}.>`,
];

/** The user a site's executors connect as (`cluster init --site NAME`). */
export const siteUser = (site: string): string => `site-${site}`;

/** Events only a site's own user records, each only under the site's own name. */
export const SITE_EVENTS = ['SiteHeartbeat'] as const satisfies readonly AgentEventType[];

/**
 * What a site's executors may do (`actor executor --site NAME`, user `site-NAME`): the executor's
 * row, except that they take work only from the site's own queue, may create exactly its durable
 * consumer (the filter is in the request's subject, which the server checks against the
 * consumer's), and beat only under the site's own name: a site cannot announce itself as another.
 * With a `domain`, as its clients address it (a site behind a leaf node).
 */
export function sitePermissions(site: string, domain?: string): Permissions {
  const local = localSitePermissions(site);
  return { publish: inDomain(local.publish, domain), subscribe: local.subscribe };
}

function localSitePermissions(site: string): Permissions {
  const executor = localPermissionsOf('executor');
  const consumer = consumerNames.site(site);
  const shared = new Set(takes(consumerNames.work('executor')));
  const publish = executor.publish.filter((s) => !shared.has(s));
  publish.push(
    ...takes(consumer),
    api('CONSUMER', 'CREATE', WORK_STREAM, consumer, commandSubjects.siteQueue(site)),
    ...SITE_EVENTS.map((type) => eventSubjects.of(SITES_RUN, site, type)),
  );
  return { publish, subscribe: executor.subscribe };
}

/** Every role that may append `type`: what the server enforces, and what a reader may believe. */
export function publishersOf(type: AgentEventType): Role[] {
  return roleNames.filter((r) => r !== 'admin' && ROLES[r].events.includes(type));
}

/** The table of roles of docs/access-control.md (written there by `npm run docs`, src/security/doc-tables.ts). */
export function rolesTable(): string {
  const code = (xs: readonly string[]) => (xs.length ? xs.map((x) => `\`${x}\``).join(', ') : '-');
  const rows = roleNames.map((r) => {
    if (r === 'admin')
      return '| `admin` | creates the streams, the work consumers and the buckets; the only role that may delete or purge | - | - | - |';
    const s = ROLES[r];
    const takes = s.takesWork ? [commandSubjects.actorWork(s.takesWork)] : [];
    const sends = [
      ...s.sendsWork.map((a) => commandSubjects.actorWork(a)),
      ...(s.routesToSites ? [commandSubjects.allSites()] : []),
      ...(s.asksRecovery ? [commandSubjects.recover()] : []),
    ];
    return `| \`${r}\` | ${s.purpose} | ${code(s.events)} | ${code(sends)} | ${code([...takes, ...s.serves])} |`;
  });
  const executor = ROLES.executor;
  const site = `| \`${siteUser('NAME')}\` | a site's executors (\`actor executor --site NAME\`): the executor's rights on its own queue alone | ${code([...executor.events, 'SiteHeartbeat'])} (its heartbeat only as \`NAME\`) | ${code([commandSubjects.recover()])} | ${code([commandSubjects.siteQueue('NAME'), ...executor.serves])} |`;
  return [
    '| role | for | events it records | work and requests it sends | work and requests it takes |',
    '|---|---|---|---|---|',
    ...rows,
    site,
  ].join('\n');
}
