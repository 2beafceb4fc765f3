/**
 * @module build-program
 * The `spike` command tree (commander), with output wired to the injected streams.
 */
import { Command } from 'commander';
import type { CliIo } from './cli-io.ts';
import { registerApprovalCommands } from './command/approval-command.ts';
import { registerAuditCommands } from './command/audit-command.ts';
import { registerCipherCommands } from './command/cipher-command.ts';
import { registerEnvCommands } from './command/env-command.ts';
import { registerKeyCommands } from './command/key-command.ts';
import { registerLoginCommands } from './command/login-command.ts';
import { registerOperatorCommands } from './command/operator-command.ts';
import { registerPolicyCommands } from './command/policy-command.ts';
import { registerSecretCommands } from './command/secret-command.ts';
import { registerStatusCommand } from './command/status-command.ts';
import { COMPLETION_SHELLS, completionScript } from './completion-script.ts';
import type { CompletionShell } from './completion-script.ts';
import { EXIT_CODE_HELP } from './exit-code.ts';
import { CLI_VERSION } from './version.ts';

const ENV_HELP = [
  'Environment:',
  '  SPIFFE_ENDPOINT_SOCKET    Workload API socket (default unix:///tmp/spire-agent/public/api.sock)',
  '  SPIKE_NEXUS_API_URL       SPIKE Nexus URL, or several separated by commas (default https://localhost:8553)',
  '  SPIKE_TRUST_ROOT_PILOT    trust roots of the Pilot roles (default spike.ist)',
  '  SPIKE_TRUST_ROOT_NEXUS    trust roots Nexus may present (default spike.ist)',
  '  SPIKE_PILOT_RECOVERY_DIR  parent of the recovery directory (default ~/.spike)',
  '  SPIKE_PEOPLE_URL          Nexus people listener URL; with SPIFFE_ENDPOINT_SOCKET unset and a',
  '                            `spike login`, commands run as that person (see spike login --help)',
].join('\n');

export function buildProgram(io: CliIo): Command {
  const program = new Command('spike')
    .description('SPIKE Pilot - Secure your secrets with SPIFFE')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s),
    })
    .version(`spike ${CLI_VERSION}`, '-v, --version', 'print the version of this CLI')
    .helpOption('-h, --help', 'print this help')
    // Options after a subcommand belong to it (`secret get p -v 2` is the secret's version).
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\n${ENV_HELP}\n\n${EXIT_CODE_HELP}\n`);

  registerSecretCommands(program, io);
  registerPolicyCommands(program, io);
  registerCipherCommands(program, io);
  registerOperatorCommands(program, io);
  registerEnvCommands(program, io);
  registerStatusCommand(program, io);
  registerKeyCommands(program, io);
  registerLoginCommands(program, io);
  registerAuditCommands(program, io);
  registerApprovalCommands(program, io);

  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Command().createArgument('<shell>', 'bash, zsh or fish').choices(COMPLETION_SHELLS))
    .addHelpText(
      'after',
      '\nLoad it with:\n  bash: source <(spike completion bash)\n  zsh:  source <(spike completion zsh)\n' +
        '  fish: spike completion fish | source\n',
    )
    .action((shell: CompletionShell) => {
      io.stdout.write(completionScript(program, shell));
    });

  program
    .command('version')
    .description('print the version of this CLI')
    .action(() => {
      io.stdout.write(`spike ${CLI_VERSION}\n`);
    });

  // Exit codes are ours (see EXIT_CODE_HELP); commander's usage errors become 2.
  for (const cmd of allCommands(program)) {
    cmd.exitOverride();
  }
  return program;
}

export function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap((c) => allCommands(c))];
}
