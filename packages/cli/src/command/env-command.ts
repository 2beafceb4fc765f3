/**
 * @module env-command
 * `spike run [--path p …] -- command [args…]` runs a command with the keys of one or more secrets
 * as environment variables, and `spike export [--path p …] [--format dotenv|json|yaml]` prints
 * them. The values reach the child through its environment only, never its argv.
 */
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { secretPathArg, shown } from '../cli-args.ts';
import { ChildExit, CliError, ExitCode, usageError } from '../exit-code.ts';
import { approvalRequiredError, isApprovalRequired } from '../approval-required.ts';
import { withNexus } from '../nexus-session.ts';
import { envObject, parseExportFormat, renderEnv, secretsToEnv } from '../secret-env.ts';

const PATH_HELP = 'secret path; repeat for several (a key in a later --path replaces the same key)';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function readEnv(io: CliIo, rawPaths: readonly string[]): Promise<Map<string, string>> {
  if (rawPaths.length === 0) throw usageError('At least one --path <secret path> is required.');
  const paths = rawPaths.map((p) => secretPathArg(p));
  return withNexus(io, 'superuser', async ({ client, spiffeId }) => {
    const secrets: { path: string; data: Record<string, string> }[] = [];
    for (const path of paths) {
      try {
        secrets.push({ path, data: await client.getSecret(path) });
      } catch (err) {
        if ((err as { code?: unknown }).code === 'api_not_found') {
          throw new CliError(`Secret '${shown(path)}' (--path) not found.`, ExitCode.NotFound);
        }
        if (isApprovalRequired(err)) {
          throw approvalRequiredError({ spiffeId, approval: { operation: 'read', target: path } });
        }
        throw err;
      }
    }
    return secretsToEnv(secrets);
  });
}

export function registerEnvCommands(program: Command, io: CliIo): void {
  program
    .command('run')
    .description(
      'run a command with the keys of secrets as environment variables (needs the Pilot superuser role)',
    )
    .option('-p, --path <path>', PATH_HELP, collect, [])
    .argument('<command...>', 'the command and its arguments (put them after --)')
    .passThroughOptions()
    .addHelpText(
      'after',
      '\nExample:\n  spike run --path tenants/demo/db/creds -- psql -h db.example\n\n' +
        "The command inherits this environment; the secrets' keys are added (replacing variables of\n" +
        "the same name). spike exits with the command's exit status (128+n when a signal n ended it;\n" +
        '127 if it could not be started). SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 are forwarded.\n',
    )
    .action(async (command: string[], opts: { path: string[] }) => {
      const env = await readEnv(io, opts.path);
      const [file, ...args] = command;
      if (file === undefined || file === '') throw usageError('A command to run is required after --.');
      const { runChild } = await import('../run-child.ts');
      const status = await runChild(file, args, envObject(env, definedOnly(io.env)));
      if (status.error !== undefined)
        io.stderr.write(`Error: Cannot run '${shown(file)}': ${status.error}.\n`);
      if (status.code !== 0) throw new ChildExit(status.code);
    });

  program
    .command('export')
    .description('print the keys of secrets as environment variables (needs the Pilot superuser role)')
    .option('-p, --path <path>', PATH_HELP, collect, [])
    .option('-f, --format <format>', 'dotenv (default), json or yaml', 'dotenv')
    .action(async (opts: { path: string[]; format?: string }) => {
      const format = parseExportFormat(opts.format);
      const env = await readEnv(io, opts.path);
      io.stdout.write(renderEnv(env, format));
    });
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
