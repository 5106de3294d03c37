import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { renderReport } from '../report/render-report.ts';
import { recordedRun } from '../cli/recorded-run.ts';
import { errorResult } from './cli-child.ts';
import type { Progress } from './follow-run.ts';
import { TOOLS, type CallExtra, type ToolDeps, type ToolTier } from './tools.ts';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Progress to the client that asked for it (a progressToken in the call), or nowhere. */
function progressOf(extra: Extra): CallExtra['progress'] {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => {};
  return (p: Progress) => {
    void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } });
  };
}

/** One MCP server on the shared deps: the tools of `tier`, and each run's report and events as resources. */
export function buildServer(deps: ToolDeps, tier: ToolTier, version: string): McpServer {
  const server = new McpServer({ name: 'implement-agent', version });
  for (const [name, tool] of Object.entries(TOOLS)) {
    if (tier === 'core' && tool.tier !== 'core') continue;
    const call = tool.call as (d: ToolDeps, input: unknown, extra: CallExtra) => ReturnType<typeof tool.call>;
    server.registerTool(
      name,
      { description: tool.description, inputSchema: tool.input },
      (input: unknown, extra: Extra) =>
        call(deps, input, { signal: extra.signal, progress: progressOf(extra) }).catch(errorResult),
    );
  }
  const runId = (variables: Record<string, string | string[]>) => String(variables.runId);
  server.registerResource(
    'run-report',
    new ResourceTemplate('implement-agent://runs/{runId}/report', { list: undefined }),
    { description: "A run's report (HTML)", mimeType: 'text/html' },
    async (uri, variables) => ({
      contents: [
        { uri: uri.href, mimeType: 'text/html', text: renderReport(await recordedRun(deps.rt, runId(variables))) },
      ],
    }),
  );
  server.registerResource(
    'run-events',
    new ResourceTemplate('implement-agent://runs/{runId}/events', { list: undefined }),
    { description: "A run's event log, one JSON event a line", mimeType: 'application/x-ndjson' },
    async (uri, variables) => {
      const events = await recordedRun(deps.rt, runId(variables));
      const text = events.map((e) => JSON.stringify(e)).join('\n');
      return { contents: [{ uri: uri.href, mimeType: 'application/x-ndjson', text }] };
    },
  );
  return server;
}
