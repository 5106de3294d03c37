import { configJsonSchema, loadConfig } from '../config.ts';

/**
 * `implement-agent config [--schema]`: the configuration in force here (flags aside: file,
 * environment, defaults), secrets blanked; or the JSON Schema of implement-agent.config.json.
 */
export async function configCommand(options: { schema: boolean; file?: string }): Promise<number> {
  if (options.schema) {
    process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    return 0;
  }
  const config = await loadConfig({ cwd: process.cwd(), ...(options.file ? { file: options.file } : {}) });
  const shown = { ...config, llm: { ...config.llm, ...(config.llm.apiKey ? { apiKey: '[set]' } : {}) } };
  process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  return 0;
}
