import { loadConfig, type ConfigOverrides } from '../../src/config.ts';
import { openRuntime, type Runtime } from '../../src/actors/runtime.ts';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

export async function testRuntime(url: string, flags: ConfigOverrides = {}): Promise<Runtime> {
  const config = await loadConfig({ cwd: '/nonexistent-config-dir', flags, env: {} });
  return openRuntime(url, config, 'test', silent);
}
