import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigOverrides } from '../../src/config.ts';
import { childEnvironment } from '../../src/exec/child-env.ts';
import { runConfined } from '../../src/exec/confined-run.ts';
import { resolveConfinement } from '../../src/exec/sandbox.ts';

/**
 * Commands run as the executor runs them (runConfined: real bubblewrap, network namespace,
 * cgroup, rlimits) under a configuration of the test's, with what the confinement said.
 */
export async function confinedRunner(flags: ConfigOverrides) {
  const stateDir = await mkdtemp(join(tmpdir(), 'ia-state-'));
  const config = await loadConfig({ cwd: '/nonexistent', flags: { ...flags, stateDir }, env: {} });
  const said: string[] = [];
  const confinement = await resolveConfinement(
    config,
    (m) => said.push(`warning: ${m}`),
    (m) => said.push(m),
  );
  return {
    config,
    confinement,
    said,
    run: (command: string, workdir: string, timeoutMs = 60_000) =>
      runConfined(command, confinement, config.execution.limits, {
        cwd: workdir,
        env: childEnvironment().env,
        timeoutMs,
        tailChars: 4000,
        keepBytes: 100_000,
      }),
    cleanup: () => rm(stateDir, { recursive: true, force: true }),
  };
}
