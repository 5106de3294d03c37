import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig, type Config } from '../config.ts';
import { InputError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { makeEvent, type RunOutcome, type StoredEvent, type Weakening } from '../events/agent-events.ts';
import type { StartRun } from '../events/work-commands.ts';
import { killAllCommandGroups } from '../exec/run-command.ts';
import { parseBudget } from '../llm/cost.ts';
import { closeLlmUse } from './llm-use.ts';
import { probeLlm, type Probed } from '../llm/probe.ts';
import { recordEndpointContext } from '../host/llm-calls.ts';
import type { TaskSpec } from '../tasklist/task-spec.ts';
import { hostActors, missingActors } from '../host/hosts.ts';
import { reopenable, startFromLog } from '../host/resume-run.ts';
import { submitRun } from '../host/submit-run.ts';
import type { Runtime } from '../actors/actor.ts';
import { outputFiles } from '../context/own-files.ts';
import { dryRun } from './dry-run.ts';
import type { RunFlags } from './run-flags.ts';
import { recordedOptions } from './start-options.ts';
import { withRuntime } from './nats-session.ts';
import { natsFor, type NatsSession } from './nats-for.ts';
import { InFlight } from './in-flight.ts';
import { RunStop } from './run-stop.ts';
import { progressPrinter } from './progress.ts';
import { findWeakenings, sayConfinement } from './unsafe-settings.ts';
import { eventIds, workIds } from '../events/ids.ts';
import { dirtyPaths, repositoryPrefix } from '../workspace/git.ts';
import { runProject } from '../host/run-project.ts';
import { HomeMerge } from '../host/home-merge.ts';
import { out, err, outJson } from './terminal.ts';

/** A finished run's exit code: its outcome (RunFinished's status) as the class CI tells apart. */
const exitForRun = (outcome: RunOutcome): number =>
  outcome === 'succeeded' ? EXIT.ok : outcome === 'unverified' ? EXIT.unverified : EXIT.taskFailed;

/** A run that has something to do, its input read and checked (run-cmd.ts): planned, run and followed to its end. */
export async function runSession(input: {
  /** The NATS of the run, being started (run-cmd.ts). */
  nats: Promise<NatsSession>;
  config: Config;
  /** Where the configuration was read from: named beside each setting that weakens confinement. */
  configFile: string;
  cwd: string;
  tasksFile: string;
  workdir: string;
  tasks: TaskSpec[];
  /** The run's flags, `--commit` on when the configuration says `git.commit: "per-task"`, `--replan`'s ids checked. */
  flags: RunFlags;
}): Promise<number> {
  const { config, cwd, tasksFile, workdir, tasks, flags } = input;
  const options = recordedOptions(config, flags);
  const { llm } = options;
  let weakened: Weakening[];
  let probed: Probed | undefined;
  try {
    weakened = await findWeakenings(config, input.configFile, cwd);
    if (
      llm === 'openai' &&
      (!flags.dry || flags.plan === true) &&
      tasks.some((t) => !t.done && t.commands.length === 0)
    )
      probed = await probeLlm(config.llm);
    if (!flags.dry) sayConfinement(config, weakened);
    if (probed?.notice) err(probed.notice);
    if (probed) config.llm.model = probed.model;
    if (flags.commit && !flags.dry) await sayWhatIsNeverCommitted(workdir);
  } catch (error) {
    await input.nats.then(
      (nats) => nats.stop(),
      () => {},
    );
    throw error;
  }
  return withRuntime(
    config,
    cwd,
    'run',
    async (rt, session) => {
      const runId = newRunId();
      if (probed) await recordEndpointContext(rt, runId, probed.contextTokens);
      if (flags.dry) return dryRun(rt, { runId, tasksFile, workdir, tasks, llm, plan: flags.plan === true }, out);
      // The project's snapshot is taken while the actors this process hosts start (followToTheEnd).
      const start = runProject(rt, workdir, tasks).then(
        (project): StartRun => ({
          runId,
          tasksFile,
          workdir,
          tasks,
          options: {
            ...options,
            ...(config.llm.pricing ? { pricing: config.llm.pricing } : {}),
            // Whichever process plans or executes, what this one writes is never a task's change.
            ownFiles: [...outputFiles(), resolve(cwd, config.stateDir)],
          },
          ...(weakened.length ? { weakened } : {}),
          ...(project ? { project } : {}),
        }),
      );
      const code = await followToTheEnd(rt, start, flags.json === true, workIds.start(runId), 0, session.storeDir);
      if (!flags.verify || code === EXIT.interrupted) return code;
      // The regression sweep: every completed task's criteria again, now that the whole run is done.
      const { verifyRun, verifyLines } = await import('./verify-cmd.ts');
      const result = await verifyRun(rt, runId, await rt.store.readRun(runId));
      if (flags.json === true) outJson({ verified: result });
      else for (const line of verifyLines(result)) out(line);
      return result.regressions.length > 0 ? EXIT.taskFailed : code;
    },
    input.nats,
    !flags.dry,
  );
}

/** `--commit` needs a repository; what the user has not committed is named, and no task's commit takes it. */
async function sayWhatIsNeverCommitted(workdir: string): Promise<void> {
  if ((await repositoryPrefix(workdir)) === undefined)
    throw new InputError(
      `--commit needs a git repository: ${workdir} is not in one (git init, or run without --commit)`,
    );
  const dirty = await dirtyPaths(workdir);
  if (dirty.length)
    err(
      `not committed by this run (changed before it started): ${dirty.slice(0, 20).join(', ')}${dirty.length > 20 ? ` and ${dirty.length - 20} more` : ''}`,
    );
}

/**
 * Submits (or resubmits) a run to the actors, hosting those no process answers for, prints its
 * events as they are recorded, and returns the exit code. How Ctrl-C and the rest stop it: RunStop.
 */
async function followToTheEnd(
  rt: Runtime,
  starting: StartRun | Promise<StartRun>,
  json: boolean,
  itemId: string,
  generation = 0,
  storeDir?: string,
  /** The seq of the RunFinished a `resume` that reopened tasks supersedes: not its end. */
  ended = 0,
): Promise<number> {
  const { start, hosted } = await startAndHost(rt, starting);
  const drivesRun = hosted?.names.includes('coordinator') === true;
  const inFlight = new InFlight();
  // On a terminal (and not --json): running tasks redrawn in place below the lines that stay.
  // Its terminal libraries are loaded only then, as they weigh on a run's start-up.
  const live = !json && process.stdout.isTTY ? (await import('./live-progress.ts')).liveProgress(inFlight) : undefined;
  const printer = json ? undefined : progressPrinter((l) => (live ? live.line(l) : out(l)));
  const print = printer ?? ((e: StoredEvent) => outJson(e));
  const say = (line: string) => (live ? live.line(line) : err(line));
  const stop = new RunStop({ rt, runId: start.runId, generation, drivesRun, inFlight, say });
  /** LlmCalled events shown so far: with --json, those recorded after RunFinished follow it. */
  const seen = new Set<string>();
  // Tasks that ran at sites: their change sets come home to this working copy.
  const home = new HomeMerge(rt, start, say);
  const onEvent = (event: StoredEvent) => {
    if (event.type === 'LlmCalled') seen.add(event.id);
    home.see(event);
    inFlight.see(event);
    print(event);
    live?.refresh();
    stop.see(event);
  };
  const diskWatch = storeDir
    ? watchStoreSpace(storeDir, (free) => sayStoreFull(storeDir, free, start.runId, say))
    : undefined;
  try {
    const status = await submitRun(rt, start, onEvent, stop.signal, itemId, ended);
    await home.settled();
    if (status !== 'interrupted') {
      await closeLlmUse(rt, start.runId, seen, json ? print : undefined, printer?.closing);
      return home.notHome.length > 0 && status !== 'failed' ? EXIT.taskFailed : exitForRun(status);
    }
    return sayHowItStopped(start.runId, stop.budgetStop, drivesRun, inFlight, say);
  } finally {
    live?.stop();
    stop.close();
    clearInterval(diskWatch);
    await hosted?.stop();
  }
}

/**
 * The start item, and the actors no process answers for hosted here: at once, as each is a few
 * round trips (the project's snapshot; each actor's consumer). Hosted ones stop if the item fails.
 */
async function startAndHost(rt: Runtime, starting: StartRun | Promise<StartRun>) {
  const hosting = missingActors(rt).then((missing) => (missing.length > 0 ? hostActors(rt, missing) : undefined));
  const [start, hosted] = await Promise.allSettled([starting, hosting]);
  if (start.status === 'rejected') {
    if (hosted.status === 'fulfilled') await hosted.value?.stop();
    throw start.reason;
  }
  if (hosted.status === 'rejected') throw hosted.reason;
  return { start: start.value, hosted: hosted.value };
}

/** The exit code of a run that stopped before its end, and the line saying how to go on. */
function sayHowItStopped(
  runId: string,
  budgetStop: string | undefined,
  drivesRun: boolean,
  inFlight: InFlight,
  say: (line: string) => void,
): number {
  if (budgetStop) {
    say(`stopped: ${budgetStop}`);
    say(`continue it with a larger budget: implement-agent resume ${runId} --budget <tokens or $>`);
    return EXIT.budget;
  }
  if (!drivesRun) {
    say(`stopped watching; run ${runId} goes on in the actors that are up`);
    return EXIT.interrupted;
  }
  say(
    `interrupted${inFlight.completed.length ? ` (ticked: ${inFlight.completed.join(', ')})` : ''}; continue it with: implement-agent resume ${runId}`,
  );
  return EXIT.interrupted;
}

/**
 * A full disk under the local store wedges nats-server: appends are no longer acknowledged and
 * every actor retries forever. Said at once, naming the store; what was acknowledged is on disk.
 */
function sayStoreFull(storeDir: string, free: number, runId: string, say: (line: string) => void): never {
  say(
    `the event store's disk is full: ${storeDir} has ${free} bytes free, and nats-server no longer acknowledges appends`,
  );
  say(`nothing recorded is lost; free some space there, then continue with: implement-agent resume ${runId}`);
  killAllCommandGroups();
  process.exit(EXIT.infrastructure);
}

/** Bytes free under which the store's disk counts as full: JetStream writes in blocks of about this size. */
const STORE_FULL_BYTES = 256 * 1024;

/** Checks the local store's free space every second; calls `full` once when it runs out. */
function watchStoreSpace(storeDir: string, full: (freeBytes: number) => void): NodeJS.Timeout {
  const timer = setInterval(() => {
    statfs(storeDir)
      .then((s) => {
        const free = s.bavail * s.bsize;
        if (free < STORE_FULL_BYTES) {
          clearInterval(timer);
          full(free);
        }
      })
      .catch(() => undefined);
  }, 1000);
  timer.unref();
  return timer;
}

/** `implement-agent resume <runId>`: picks a run up where its log ends and follows it to the end. */
export async function resumeCommand(runId: string, json: boolean, budgetFlag?: string): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  return withRuntime(
    config,
    cwd,
    'resume',
    async (rt, session) => {
      const events = await rt.store.readRun(runId);
      const start = startFromLog(runId, events);
      // A new generation: work issued before it is stale, and the coordinator reissues what is left.
      const generation = events.filter((e) => e.type === 'RunResumed').length + 1;
      // Its last end, unless a resume that reopened tasks came after it (the run goes on then).
      const ends = events.filter((e) => e.type === 'RunFinished' || e.type === 'RunResumed');
      const finished = ends.at(-1)?.type === 'RunFinished' ? ends.at(-1) : undefined;
      const reopened = finished ? reopenable(events, start) : [];
      if (finished?.type === 'RunFinished' && reopened.length === 0) {
        out(`run ${runId} already finished: ${finished.data.status}`);
        return exitForRun(finished.data.status);
      }
      const budget = budgetFlag !== undefined ? parseBudget(budgetFlag) : undefined;
      if (budget?.usd !== undefined && !start.options.pricing)
        throw new InputError(`run ${runId} was started without llm.pricing: give its budget in tokens`);
      // Finished, with tasks whose change set never reached the folder: they run again, before the run goes on.
      for (const { taskId, reason } of reopened)
        await rt.store.append(
          makeEvent(
            'TaskReopened',
            { runId, taskId, id: eventIds.taskReopened(runId, taskId, generation) },
            { generation, reason },
          ),
        );
      await rt.store.append(
        makeEvent(
          'RunResumed',
          { runId, id: eventIds.runResumed(runId, generation) },
          { generation, ...(budget ? { budget } : {}) },
        ),
      );
      const ended = Math.max(0, ...events.filter((e) => e.type === 'RunFinished').map((e) => e.seq));
      return followToTheEnd(rt, start, json, workIds.resume(runId, generation), generation, session.storeDir, ended);
    },
    // A run's own, as `run`'s; the store must exist already.
    natsFor(config, cwd, { kind: 'run', create: false }),
    true,
  );
}

/** Sortable by time, unique enough across processes, and a valid NATS subject token. */
export function newRunId(): string {
  return `r${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
