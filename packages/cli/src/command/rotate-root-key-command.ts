/**
 * @module rotate-root-key-command
 * `spike operator rotate-root-key` (ADR 0044): begin an online root-key rotation and follow it to
 * its end with a progress display; with the Pilot recover role it also writes the new recovery
 * files at once (`--pgp-keys` as for `recover`). `--status` only shows where a rotation stands;
 * `--no-wait` begins one and returns. Needs the Pilot superuser or recover role (or an admin's
 * `spike login`).
 */
import type { Command } from 'commander';
import type { RootKeyStatus, SpikeClient } from '@spike-ts/sdk';
import type { CliIo } from '../cli-io.ts';
import { CliError, ExitCode } from '../exit-code.ts';
import { withNexus } from '../nexus-session.ts';
import { FORMAT_OPTION_HELP, parseOutputFormat, renderDocument } from '../output-format.ts';
import { saveRecoveryShares } from './save-recovery-shares.ts';

/** How often the progress display asks Nexus (milliseconds). */
const POLL_MS = 1000;

export const OLD_FILES_MESSAGE =
  'Recovery files written before this rotation no longer work: Nexus refuses their shares. ' +
  'Destroy them, and keep the new ones apart as before.';

function percent(s: RootKeyStatus): string {
  if (s.rowsTotal === 0) return '100%';
  return `${String(Math.floor(((s.rowsTotal - s.rowsRemaining) * 100) / s.rowsTotal))}%`;
}

export function describeStatus(s: RootKeyStatus): string {
  const lines = [`Root-key generation  ${String(s.generation)}`];
  if (s.rotating) {
    lines.push(
      `Rotation             in progress: generation ${String(s.from)} -> ${String(s.generation)}, since ${s.startedAt}`,
      `Phase                ${s.phase}`,
      `Rows re-sealed       ${String(s.rowsTotal - s.rowsRemaining)} of ${String(s.rowsTotal)} (${percent(s)})`,
    );
  } else {
    lines.push('Rotation             none in progress');
  }
  lines.push(`Last rotation        ${s.lastRotatedAt === '' ? 'never' : s.lastRotatedAt}`);
  return lines.join('\n') + '\n';
}

/** Why Nexus refused to begin: it says only `api_bad_request`, so ask where things stand. */
async function refusal(client: SpikeClient): Promise<CliError> {
  const s = await client.rootKey.status().catch(() => undefined);
  if (s?.rotating === true) {
    return new CliError(
      `A root-key rotation (generation ${String(s.from)} to ${String(s.generation)}) is already in progress since ` +
        `${s.startedAt}; it was not started again. Follow it with: spike operator rotate-root-key --status`,
      ExitCode.General,
    );
  }
  if (s?.generation === 0) {
    return new CliError(
      'This SPIKE Nexus runs on the memory backend: it has no root key to rotate.',
      ExitCode.General,
    );
  }
  return new CliError(
    'SPIKE Nexus refused to begin a root-key rotation (api_bad_request).',
    ExitCode.General,
  );
}

async function follow(io: CliIo, client: SpikeClient, first: RootKeyStatus): Promise<RootKeyStatus> {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  let s = first;
  let shown = '';
  while (s.rotating) {
    const line = `Re-sealing: ${String(s.rowsTotal - s.rowsRemaining)} of ${String(s.rowsTotal)} rows (${percent(s)}), ${s.phase}`;
    if (tty) io.stderr.write(`\r${line}\u001b[K`);
    else if (line !== shown) io.stderr.write(`${line}\n`);
    shown = line;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    s = await client.rootKey.status();
  }
  if (tty) io.stderr.write('\n');
  return s;
}

export function registerRotateRootKeyCommand(operator: Command, io: CliIo): void {
  operator
    .command('rotate-root-key')
    .description(
      'replace the root key online: new shares to the keepers, every row re-sealed while Nexus serves (needs the Pilot superuser or recover role)',
    )
    .option('--status', 'only show the root-key generation and the progress of a rotation')
    .option('--no-wait', 'begin the rotation and return without following it')
    .option(
      '--pgp-keys <files>',
      "with the recover role: encrypt each new share to one custodian's OpenPGP public key (as `spike operator recover --pgp-keys`)",
    )
    .option('-f, --format <format>', `with --status: ${FORMAT_OPTION_HELP}`, 'human')
    .action(async (opts: { status?: boolean; wait: boolean; pgpKeys?: string; format?: string }) => {
      const format = parseOutputFormat(opts.format);
      await withNexus(io, ['superuser', 'recover'], async ({ client, spiffeId }) => {
        if (opts.status === true) {
          const s = await client.rootKey.status();
          io.stdout.write(format === 'human' ? describeStatus(s) : renderDocument({ ...s }, format));
          return;
        }
        let begun: RootKeyStatus;
        try {
          begun = await client.rootKey.rotate();
        } catch (err) {
          const { SpikeBadRequestError } = await import('@spike-ts/sdk');
          if (err instanceof SpikeBadRequestError) throw await refusal(client);
          throw err;
        }
        io.stderr.write(
          `Root-key rotation begun: generation ${String(begun.from)} -> ${String(begun.generation)}; ` +
            `the keepers get shares of the new key and ${String(begun.rowsRemaining)} of ${String(begun.rowsTotal)} rows are re-sealed in the background.\n`,
        );
        // The new key's shares restore Nexus from now on (also before the rotation has finished).
        const { isPilotRecover, trustRootsFromEnv } = await import('@spike-ts/identity/client');
        if (isPilotRecover(spiffeId, trustRootsFromEnv({ ...io.env }))) {
          await saveRecoveryShares(io, client, opts.pgpKeys);
        } else {
          io.stderr.write(
            'Write the new recovery files now with the Pilot recover identity: spike operator recover' +
              (opts.pgpKeys === undefined ? '' : ` --pgp-keys ${opts.pgpKeys}`) +
              '\n',
          );
        }
        if (!opts.wait) {
          io.stderr.write('Follow it with: spike operator rotate-root-key --status\n');
          return;
        }
        const done = await follow(io, client, begun);
        io.stderr.write(
          `Root-key rotation finished: generation ${String(done.generation)}, every row re-sealed. ${OLD_FILES_MESSAGE}\n`,
        );
      });
    });
}
