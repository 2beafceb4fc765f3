/**
 * @module status-command
 * `spike status`: where this CLI looks for SPIKE Nexus, whether it answers, whether it is ready,
 * the state of its root key, its keepers and versions (Nexus's additive operator status route).
 * Exits 0 when ready, 5 when Nexus answers but is not ready, 6 when it does not answer.
 */
import type { Command } from 'commander';
import type { NexusStatus } from '@spike-ts/sdk';
import type { CliIo } from '../cli-io.ts';
import { CliError, ExitCode } from '../exit-code.ts';
import { withNexus } from '../nexus-session.ts';
import { FORMAT_OPTION_HELP, parseOutputFormat, renderDocument } from '../output-format.ts';
import { CLI_VERSION } from '../version.ts';

const KEEPER_STATE: Readonly<Record<string, string>> = {
  ok: 'holds its share',
  reseeded: 'was given its share again',
  unreachable: 'unreachable',
  unknown: 'not checked yet',
};

const ROOT_KEY: Readonly<Record<string, string>> = {
  installed: 'installed',
  missing: 'missing (waiting for the keepers, a bootstrap or spike operator restore)',
  none: 'none (memory backend: nothing persists)',
};

function human(url: string, s: NexusStatus): string {
  const lines = [
    `SPIKE Nexus     ${url}`,
    'Reachable       yes',
    `Ready           ${s.ready ? 'yes' : 'no'}`,
    `Root key        ${ROOT_KEY[s.rootKey] ?? s.rootKey}`,
    `Backend         ${s.backend}`,
  ];
  if (s.keepers.length > 0) {
    lines.push(
      `Keepers         ${String(s.keepers.length)} (any ${String(s.threshold)} rebuild the root key)`,
    );
    s.keepers.forEach((k, i) =>
      lines.push(`  ${String(i + 1)}  ${k.url}  ${KEEPER_STATE[k.state] ?? k.state}`),
    );
  }
  lines.push(`Nexus version   ${s.version}`, `spike version   ${CLI_VERSION}`);
  return lines.join('\n') + '\n';
}

export function registerStatusCommand(program: Command, io: CliIo): void {
  program
    .command('status')
    .description(
      'show SPIKE Nexus: reachable, ready, root key, keepers, versions (needs the Pilot superuser role)',
    )
    .option('-f, --format <format>', FORMAT_OPTION_HELP, 'human')
    .action(async (opts: { format?: string }) => {
      const format = parseOutputFormat(opts.format);
      const { resolveNexusUrls } = await import('@spike-ts/sdk');
      // Several URLs (ADR 0033): unreachable shows them all; an answer shows the one that gave it.
      let url = resolveNexusUrls(io.env['SPIKE_NEXUS_API_URL']).join(', ');
      let status: NexusStatus;
      try {
        status = await withNexus(io, 'superuser', async ({ client }) => {
          const answer = await client.status();
          url = client.nexusUrl;
          return answer;
        });
      } catch (err) {
        if (err instanceof CliError && err.exitCode === ExitCode.Unreachable) {
          io.stdout.write(
            format === 'human'
              ? `SPIKE Nexus     ${url}\nReachable       no\nspike version   ${CLI_VERSION}\n`
              : renderDocument({ nexusUrl: url, reachable: false, cliVersion: CLI_VERSION }, format),
          );
        }
        throw err;
      }
      io.stdout.write(
        format === 'human'
          ? human(url, status)
          : renderDocument({ nexusUrl: url, reachable: true, ...status, cliVersion: CLI_VERSION }, format),
      );
      if (!status.ready) {
        throw new CliError(
          'SPIKE Nexus answers but is not ready: it has no root key yet. Initialize SPIKE with SPIKE Bootstrap, ' +
            "start enough keepers, or restore the root key with 'spike operator restore'.",
          ExitCode.NotReady,
        );
      }
    });
}
