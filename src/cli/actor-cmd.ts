import { loadConfig, type Config } from '../config.ts';
import { EnvironmentError, InputError } from '../errors.ts';
import type { NatsAuth } from '../nats/connection.ts';
import { actorNames, type ActorName } from '../events/subjects.ts';
import { hostActors } from '../host/hosts.ts';
import { openRuntime, stderrLogger } from '../host/runtime.ts';
import { siteName } from './args.ts';
import { natsFor } from './nats-for.ts';
import { out } from './terminal.ts';
import { siteCredentialsFile } from '../security/credentials.ts';
import { roleOf, siteUser } from '../security/roles.ts';

const SHUTDOWN_MS = 15_000;

/**
 * `implement-agent actor <name> [--replicas N]` and `implement-agent up`: host actors in the
 * foreground until SIGINT/SIGTERM, then stop cleanly (work in hand is left to be redelivered).
 */
export async function actorCommand(
  names: readonly string[],
  replicas = 1,
  port?: number,
  site?: string,
): Promise<number> {
  for (const n of names) {
    if (!actorNames.includes(n as ActorName))
      throw new InputError(`unknown actor "${n}"; actors: ${actorNames.join(', ')}`);
  }
  if (replicas > 1 && names.includes('memory'))
    throw new InputError('the memory actor is the single writer of the memory store: run one replica');
  const cwd = process.cwd();
  const config = withSite(await loadConfig({ cwd }), site);
  if (port !== undefined && config.natsUrl)
    throw new InputError(
      `--port sets the port of the local nats-server; NATS_URL (${config.natsUrl}) names another server`,
    );
  const nats = await natsFor(config, cwd, {
    ...(port !== undefined ? { port } : {}),
    kind: 'shared',
    ...(config.site ? { site: config.site.name } : {}),
  });
  const auth = config.site ? siteAuth(nats.auth, config.site.name) : nats.auth;
  const log = stderrLogger(names.length === 1 ? names[0]! : 'up');
  const runtimes = await Promise.all(
    Array.from({ length: replicas }, (_, i) =>
      // One actor: its own role; `up`: the monitor's, each actor then connecting under its own (hostActors).
      openRuntime(nats.url, config, `implement-agent ${names.join('+')}#${i}`, log, {
        auth,
        role: names.length === 1 ? roleOf(names[0] as ActorName) : 'monitor',
      }),
    ),
  );
  const hosted = await Promise.all(runtimes.map((rt) => hostActors(rt, names as ActorName[])));
  // Listening before saying it is up: a signal sent as soon as the URL is printed stops it cleanly.
  const signals = stopSignals();
  log.info(
    `${names.join(', ')} up (${replicas} replica(s)) on ${nats.url}${nats.local ? ' (local nats-server; set NATS_URL to share it)' : ''}`,
  );
  if (nats.local) out(`NATS_URL=${nats.url}`);
  await signals.received;
  log.info('stopping');
  const shutdown = (async () => {
    await Promise.all(hosted.map((h) => h.stop()));
    await Promise.all(runtimes.map((rt) => rt.close()));
    await nats.stop();
  })();
  // With NATS gone, draining never completes: give up after a while rather than hang.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    shutdown.then(() => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), SHUTDOWN_MS))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    log.warn(`shutdown did not finish in ${SHUTDOWN_MS / 1000} s; exiting (unacknowledged work will be redelivered)`);
    process.exit(0);
  }
  signals.release();
  return 0;
}

/**
 * `received` resolves at the first SIGINT or SIGTERM. The handlers stay until `release`: a second
 * signal while the actors drain (a supervisor's, a timeout's) must not end the process by the
 * signal's default action, with no exit code; the shutdown is bounded by SHUTDOWN_MS anyway.
 */
function stopSignals(): { received: Promise<void>; release: () => void } {
  let signalled!: () => void;
  const received = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = () => signalled();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    received,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** `--site NAME`: this machine is that site, with the labels the config gives (`site.labels`). */
function withSite(config: Config, site: string | undefined): Config {
  if (site === undefined) return config;
  return { ...config, site: { labels: [], heartbeatMs: 5_000, ...config.site, name: siteName(site) } };
}

/**
 * A site's executor connects as the site's own user (`site-NAME`), whose rights let it take only
 * its own queue and beat only under its own name: per-role credentials must hold its password,
 * and a site's own file must be that site's.
 */
function siteAuth(auth: NatsAuth, site: string): NatsAuth {
  if (auth.kind === 'site' && auth.site !== site)
    throw new InputError(`--site ${site}: the credentials in ${auth.source} are site ${auth.site}'s`);
  if (auth.kind !== 'roles') return auth;
  if (auth.credentials.sites?.[site] === undefined)
    throw new EnvironmentError(
      `${auth.source} holds no password for site ${site} (user ${siteUser(site)}): on a cluster, run \`implement-agent cluster init DIR --site ${site}\` where its files are, reload its nodes and give this machine DIR/${siteCredentialsFile(site)}; on this project's own store, stop the process that holds it and start \`up --site ${site}\``,
    );
  return { ...auth, site };
}
