import { existsSync } from 'node:fs';
import { watchSites } from './sites.ts';
import { dirname, resolve } from 'node:path';
import { compressContext } from '../context/compress.ts';
import { ContextLoader } from '../context/context-loader.ts';
import { outputFiles, ownPathsIn } from '../context/own-files.ts';
import { loadProjectContext } from '../context/project-context.ts';
import { ProjectFiles, changedInputs } from '../context/project-files.ts';
import type { PlanTask } from '../events/work-commands.ts';
import { planWithLlm } from '../llm/planner.ts';
import { TASK_HISTORY, type TaskHistory } from '../projections/task-history.ts';
import { diskProbe } from '../recovery/kinds/probe.ts';
import { LlmRecoverySchema, recoveryPrompt } from '../recovery/llm-recovery.ts';
import { PatternDb } from '../recovery/pattern-db.ts';
import type { CoordinatorPorts } from '../actors/coordinator/actor.ts';
import type { DecomposerPorts, TaskContext } from '../actors/decomposer/actor.ts';
import type { RecovererPorts } from '../actors/recoverer/advisor.ts';
import { isTransient } from '../nats/transient.ts';
import { workdirRefusal } from '../workspace/workdir-guard.ts';
import { cancelCallsOfSkipped, openLlm } from './llm-calls.ts';
import { unpackStartItem } from './start-item.ts';
import type { Runtime } from '../actors/actor.ts';

/**
 * The I/O the actors ask for and the host performs: the files a plan is made from, the LLM, the
 * pattern file, the working directory a recovery strategy looks at. Actors describe; these do.
 */

export const coordinatorPorts: CoordinatorPorts = {
  watchSites: (rt) => watchSites(rt.store),
  // Tasks too many for a message are in the content store: gone or not what their hash says, the item is dropped.
  startItem: (rt, item) =>
    unpackStartItem(rt, item).catch((error: unknown) => {
      if (isTransient(error)) throw error;
      rt.log.error(`start item of run ${item.runId} dropped`, error);
      return undefined;
    }),
  workdirRefusal,
  changedInputs,
};

/** How much of a project one planning pass walks and reads. */
const PROJECT_LIMITS = { maxWalk: 5000, maxFileBytes: 64 * 1024 };

/** The decomposer's ports; the context loaders of one instance are kept between tasks. */
export function decomposerPorts(): DecomposerPorts {
  const loaders = new Map<string, ContextLoader>();
  const projects = new Map<string, ProjectFiles>();
  return {
    loadContext: async (rt, item, incremental) => {
      const dir = dirname(item.tasksFile);
      let loader = incremental ? loaders.get(dir) : undefined;
      // Spec files in the working directory are read only from within it, like the project's.
      const specRoot = ownPathsIn(item.workdir, [dir]).length > 0 ? item.workdir : dir;
      if (!loader) loaders.set(dir, (loader = new ContextLoader(dir, undefined, specRoot)));
      let project = incremental ? projects.get(item.workdir) : undefined;
      if (!project) projects.set(item.workdir, (project = new ProjectFiles(item.workdir, PROJECT_LIMITS)));
      const [files, history, projectContext] = await Promise.all([
        loader.load(),
        rt.snapshots.load<TaskHistory>(TASK_HISTORY.name).then(
          (s) => s?.state.entries ?? [],
          () => [],
        ),
        loadProjectContext(project, item.task, projectOptions(rt, item)),
      ]);
      const compressed = compressContext(
        item.task,
        { requirements: files.get('requirements.md')?.content ?? '', design: files.get('design.md')?.content ?? '' },
        history,
        rt.config.context.budgetTokens,
      );
      return { ...compressed, specChecksum: loader.checksum(), project: projectContext } satisfies TaskContext;
    },
    openPlanner: async (rt, options) => {
      const { llm, close } = await openLlm(rt, { recordCalls: options.recordCalls });
      // Calls of tasks skipped while they were planned are cancelled (and recorded so).
      const stopCancelling = llm && options.cancelSkipped ? await cancelCallsOfSkipped(rt) : async () => {};
      return {
        plan: llm && ((runId, task, context) => planWithLlm(llm, runId, task, context, rt.config.llm.strategy)),
        close: () => Promise.all([stopCancelling(), close()]).then(() => {}),
      };
    },
  };
}

function projectOptions(rt: Runtime, item: PlanTask) {
  return {
    ...(item.runStartedAt ? { since: Date.parse(item.runStartedAt) } : {}),
    budgetTokens: rt.config.context.projectTokens,
    // The coordinator ticks tasks.md as tasks finish: that is not a change a plan depends on.
    exclude: ownPathsIn(item.workdir, [item.tasksFile]),
    // What the tool writes (this process's redirected output, the CLI's, the state folder) is never shown.
    hidden: ownPathsIn(item.workdir, [...outputFiles(), ...(item.ownFiles ?? []), resolve(rt.config.stateDir)]),
    treeEntries: rt.config.context.treeEntries,
  };
}

/** The recoverer's ports: its pattern file, a look at the working directory, the LLM. */
export const recovererPorts: RecovererPorts = {
  loadPatterns: (file) => PatternDb.load(file),
  probe: diskProbe,
  seenAt: (request) => (request.view !== undefined && existsSync(request.view) ? request.view : request.workdir),
  openLlm: async (rt) => {
    const { llm, close } = await openLlm(rt);
    return {
      ask:
        llm &&
        ((request, why) =>
          llm.structured(
            { runId: request.runId, taskId: request.taskId },
            'recovery',
            LlmRecoverySchema,
            recoveryPrompt(request, why),
          )),
      close,
    };
  },
};
