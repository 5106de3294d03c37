import { openRuntime, stderrLogger } from '../host/runtime.ts';
import type { Runtime } from '../actors/actor.ts';
import type { Config } from '../config.ts';
import { actorNames } from '../events/subjects.ts';
import { natsFor, type NatsSession } from './nats-for.ts';

/**
 * A command's whole NATS session: the server (local or NATS_URL), one runtime on it, and the
 * teardown in the right order whatever happens in `body`. Without `started` (the session this
 * command began already: `run` does while its modules load), the command only reads: it needs the
 * project's store, and joins a run's server.
 */
export async function withRuntime<T>(
  config: Config,
  cwd: string,
  name: string,
  body: (rt: Runtime, session: { storeDir?: string }) => Promise<T>,
  started?: Promise<NatsSession>,
  /** The command hosts the actors no one else runs: on its own server, that is all of them. */
  hostsActors = false,
): Promise<T> {
  const nats = await (started ?? natsFor(config, cwd, { kind: 'read' }));
  try {
    const rt = await openRuntime(
      nats.url,
      config,
      `implement-agent ${name}`,
      stderrLogger(name, true),
      {
        auth: nats.auth,
        role: 'cli',
      },
      hostsActors && nats.local ? { along: actorNames } : {},
    );
    try {
      return await body(rt, nats.storeDir !== undefined ? { storeDir: nats.storeDir } : {});
    } finally {
      await rt.close();
    }
  } finally {
    await nats.stop();
  }
}
