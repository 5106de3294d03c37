import { loadConfig } from '../config.ts';
import { makeEvent, type Regression, type StoredEvent } from '../events/agent-events.ts';
import type { Runtime } from '../actors/actor.ts';
import { exists } from '../host/executor-activities.ts';
import { childEnvironment } from '../exec/child-env.ts';
import { checkCommand } from '../exec/policy.ts';
import { redactorFor } from '../exec/redaction.ts';
import { runConfined } from '../exec/confined-run.ts';
import { resolveConfinement, writeScope } from '../exec/sandbox.ts';
import { evolveRunStatus, initialRunStatus } from '../projections/run-status.ts';
import { criterionFailure, describeCriterion, type CriterionProbe } from '../tasklist/success-criterion.ts';
import { criterionReads, suspectsFor } from '../workspace/regressions.ts';
import { changesByTask } from '../workspace/run-changes.ts';
import { withRuntime } from './nats-session.ts';
import { recordedRun } from './recorded-run.ts';
import { startFromLog } from '../host/resume-run.ts';
import { colours } from './progress.ts';
import { out, outJson } from './terminal.ts';

/** `implement-agent verify <runId> [--json]`: exit 0 no regression, 1 a regression. */
export async function verifyCommand(runId: string, json: boolean): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  return withRuntime(config, cwd, 'verify', async (rt) => {
    const events = await recordedRun(rt, runId);
    // What was run, and where: a log without the run's start has nothing to check against.
    startFromLog(runId, events);
    const result = await verifyRun(rt, runId, events);
    if (json) outJson({ runId, ...result });
    else for (const line of verifyLines(result)) out(line);
    return result.regressions.length > 0 ? 1 : 0;
  });
}

/**
 * Checks every completed task's criteria again against the tree as it is now, and records
 * RunVerified: a criterion that held when its task completed (its evidence is its criteria) and
 * fails now is a regression, with the later tasks that may have caused it.
 */
export async function verifyRun(
  rt: Runtime,
  runId: string,
  events: readonly StoredEvent[],
): Promise<{ checked: string[]; regressions: Regression[] }> {
  const status = events.reduce(evolveRunStatus, initialRunStatus(runId));
  const tasks = changesByTask(events);
  const probe = await criterionProbe(rt, status.workdir);
  const checked: string[] = [];
  const regressions: Regression[] = [];
  for (const id of status.order) {
    const task = status.tasks[id]!;
    if (task.state !== 'completed' || task.evidence !== 'criteria' || task.undone || !task.plan) continue;
    checked.push(id);
    for (const c of task.plan.successCriteria) {
      const reason = await criterionFailure(c, probe);
      if (reason)
        regressions.push({
          taskId: id,
          criterion: describeCriterion(c),
          reason,
          ...suspectsFor(id, criterionReads(c), tasks),
        });
    }
  }
  await rt.store.append(makeEvent('RunVerified', { runId }, { checked, regressions }));
  return { checked, regressions };
}

export function verifyLines(result: { checked: string[]; regressions: Regression[] }): string[] {
  if (result.checked.length === 0) return ['no completed task of this run has criteria to check again'];
  const lines = result.regressions.map((r) => {
    const who =
      r.suspects.length === 0
        ? 'no later task changed the tree'
        : r.suspectedBy === 'files'
          ? `first broken by task ${r.suspects[0]} (its changes touched what the check reads)`
          : `after task(s) ${r.suspects.join(', ')} (which of them cannot be told from the files)`;
    return `${colours.red('✗')} task ${r.taskId}: ${r.criterion} no longer holds: ${r.reason}; ${who}`;
  });
  lines.push(
    result.regressions.length
      ? colours.red(`${result.regressions.length} regression(s) in ${result.checked.length} task(s) checked`)
      : colours.green(`${result.checked.length} task(s) checked: every criterion still holds`),
  );
  return lines;
}

/** Criteria commands run as the executor runs them: under the policy, in the sandbox, in the working directory. */
async function criterionProbe(rt: Runtime, workdir: string): Promise<CriterionProbe> {
  const confinement = await resolveConfinement(rt.config, (m) => rt.log.warn(m));
  const { env } = childEnvironment();
  const exec = rt.config.execution;
  return {
    exists: (path) => exists(workdir, path),
    run: async (command) => {
      const verdict = checkCommand(command, rt.config.policy.allow, writeScope(confinement, workdir));
      if (!verdict.allowed) return { exitCode: null, output: `denied by policy (${verdict.rule}): ${verdict.reason}` };
      const result = await runConfined(command, confinement, exec.limits, {
        cwd: workdir,
        env,
        redact: redactorFor(rt.config),
        timeoutMs: exec.commandTimeoutMs,
        tailChars: exec.tailChars,
        keepBytes: exec.keepBytes,
        heartbeatMs: exec.heartbeatMs,
      });
      return { exitCode: result.exitCode, output: `${result.stdoutTail}${result.stderrTail}` };
    },
  };
}
