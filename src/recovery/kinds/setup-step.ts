import { argumentsOf, findInvocation, outputOf, q, type KindStrategy } from './kind.ts';

/**
 * A setup or generate step not done yet, which the project itself says how to do: a CMake build
 * folder not configured, a `configure` script not run, a database whose schema file was not
 * applied, a `build` script whose output is what the command runs. The step, then the command.
 */
export const setupStep: KindStrategy = (request, probe) => {
  const out = outputOf(request);
  const { command } = request;

  if (
    findInvocation(command, 'cmake') &&
    /--build/.test(command) &&
    /Error: .+ is not a directory|could not load cache/.test(out) &&
    probe.isFile('CMakeLists.txt')
  ) {
    const args = argumentsOf(command, 'cmake');
    const dir = args[args.indexOf('--build') + 1];
    if (dir)
      return {
        kind: 'setup-step',
        variant: 'cmake-configure',
        diagnosis: `the build folder ${dir} was never configured`,
        commands: [`cmake -S . -B ${q(dir)}`],
        retry: true,
      };
  }

  if (
    findInvocation(command, 'make') &&
    /No targets specified and no makefile found|No rule to make target .Makefile/.test(out) &&
    probe.isFile('configure')
  ) {
    return {
      kind: 'setup-step',
      variant: 'configure',
      diagnosis: 'there is a configure script and no Makefile yet: configure was not run',
      commands: ['./configure'],
      retry: true,
    };
  }

  const table = /no such table: (?:main\.)?["`[]?(\w+)/.exec(out)?.[1];
  if (table && findInvocation(command, 'sqlite3')) {
    const db = argumentsOf(command, 'sqlite3').find((a) => !a.startsWith('-'));
    const creates = new RegExp(String.raw`CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?["\`[]?${table}\b`, 'i');
    const schemas = probe.findFiles((f) => f.endsWith('.sql') && creates.test(probe.text(f) ?? ''));
    if (db && !db.startsWith(':') && schemas.length === 1) {
      return {
        kind: 'setup-step',
        variant: 'apply-schema',
        diagnosis: `the table ${table} is created by ${schemas[0]}, which was not applied to ${db}`,
        commands: [`sqlite3 ${db} < ${q(schemas[0]!)}`],
        retry: true,
      };
    }
  }

  const missing = /Cannot find module '(\/[^']+)'/.exec(out)?.[1];
  if (missing && findInvocation(command, 'node') && missing.startsWith(`${probe.workdir}/`)) {
    const rel = missing.slice(probe.workdir.length + 1);
    const scripts =
      (JSON.parse(probe.text('package.json') ?? '{}') as { scripts?: Record<string, string> }).scripts ?? {};
    if (/^(?:dist|build|out|lib)\//.test(rel) && scripts.build) {
      return {
        kind: 'setup-step',
        variant: 'build-first',
        diagnosis: `${rel} is the output of the project's build script, which was not run`,
        commands: ['npm run build'],
        retry: true,
      };
    }
  }
  return undefined;
};
