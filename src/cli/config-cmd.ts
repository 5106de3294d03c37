import { configJsonSchema, loadConfig } from '../config.ts';
import { outJson } from './terminal.ts';

/**
 * `implement-agent config [--schema]`: the configuration in force here (flags aside: file,
 * environment, defaults), secrets blanked; or the JSON Schema of implement-agent.config.json.
 */
export async function configCommand(options: { schema: boolean; file?: string }): Promise<number> {
  if (options.schema) {
    outJson(configJsonSchema(), 2);
    return 0;
  }
  const config = await loadConfig({ cwd: process.cwd(), ...(options.file ? { file: options.file } : {}) });
  const shown = { ...config, llm: { ...config.llm, ...(config.llm.apiKey ? { apiKey: '[set]' } : {}) } };
  outJson(shown, 2);
  return 0;
}
