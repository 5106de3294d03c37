import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { loadConfig } from '../config.ts';
import { natsFor, PACKAGE_ROOT } from '../cli/nats-for.ts';
import { withRuntime } from '../cli/nats-session.ts';
import { childEnv } from './cli-child.ts';
import { RunChildren } from './run-children.ts';
import { buildServer } from './server.ts';
import type { ToolDeps, ToolTier } from './tools.ts';

export type McpFlags = { tools: ToolTier; http: boolean; port?: number };

/**
 * `implement-agent mcp [--http [--port N]] [--tools core|full]`: an MCP server for the project in
 * the current folder, over stdio or Streamable HTTP on 127.0.0.1. It holds one NATS for its life
 * (NATS_URL, or a local server on the project's store) and gives it to the commands it runs.
 * Runs outlive a client's connection, not the server: stopping it interrupts them, resume goes on.
 */
export async function mcpCommand(flags: McpFlags): Promise<number> {
  const cwd = process.cwd();
  const config = await loadConfig({ cwd });
  // Shared: other commands in the project join its server, as its own children do.
  const nats = natsFor(config, cwd, { kind: 'shared' });
  return withRuntime(
    config,
    cwd,
    'mcp',
    async (rt) => {
      const runs = new RunChildren({ cwd, env: childEnv((await nats).url) });
      const deps: ToolDeps = { rt, runs, context: { cwd, env: childEnv((await nats).url) } };
      const version = (JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string })
        .version;
      try {
        if (flags.http) await serveHttp(() => buildServer(deps, flags.tools, version), flags.port ?? 0);
        else await serveStdio(buildServer(deps, flags.tools, version));
      } finally {
        await runs.stopAll();
      }
      return 0;
    },
    nats,
  );
}

/** Until the client closes stdin (or a signal). */
async function serveStdio(server: ReturnType<typeof buildServer>): Promise<void> {
  const stdinEnded = new Promise<void>((resolve) => process.stdin.once('end', resolve));
  await server.connect(new StdioServerTransport());
  await Promise.race([untilStopped(), stdinEnded]);
  await server.close();
}

/**
 * Stateless Streamable HTTP on 127.0.0.1: each POST gets its own MCP server on the shared deps,
 * so what lasts (runs, by run id) lives in the log and in `RunChildren`, not in a session. The
 * Host header must name this loopback address (no DNS rebinding from a web page).
 */
async function serveHttp(build: () => ReturnType<typeof buildServer>, port: number): Promise<void> {
  let allowedHosts: string[] = [];
  const http: Server = createServer((req, res) => {
    if (req.method !== 'POST' || !req.url?.startsWith('/mcp')) {
      res.writeHead(405, { Allow: 'POST' }).end('POST /mcp\n');
      return;
    }
    const server = build();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableDnsRebindingProtection: true,
      allowedHosts,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
      });
  });
  await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));
  const bound = (http.address() as AddressInfo).port;
  allowedHosts = [`127.0.0.1:${bound}`, `localhost:${bound}`];
  process.stderr.write(`implement-agent mcp: listening on http://127.0.0.1:${bound}/mcp\n`);
  await untilStopped();
  http.closeAllConnections();
  await new Promise<void>((r) => http.close(() => r()));
}

/** Resolves at SIGINT or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
