/**
 * @module operator-command
 * Break-the-glass: `spike operator recover` (export the recovery shares to files; needs the
 * Pilot recover role) and `spike operator restore` (feed one share back; needs the restore role).
 * `spike operator damaged list|remove` lives in `damaged-command.ts`, `spike operator
 * rotate-root-key` in `rotate-root-key-command.ts`.
 */
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { withNexus } from '../nexus-session.ts';
import { promptLine, readStreamLimited } from '../read-input.ts';
import { parseShard } from '../recovery-shard.ts';
import { invalidInput } from '../exit-code.ts';
import { registerDamagedCommands } from './damaged-command.ts';
import { registerRotateRootKeyCommand } from './rotate-root-key-command.ts';
import { saveRecoveryShares } from './save-recovery-shares.ts';

/** SPIKE reads at most this much from a non-interactive stdin. */
export const MAX_SHARE_INPUT_BYTES = 4096;

/** What a 400 to a well-formed share means: Nexus found it is not a share of this root key. */
export const RESTORE_REJECTED_MESSAGE =
  'SPIKE Nexus rejected this recovery share: together with the shares given before, it does not ' +
  "rebuild this system's root key (a wrong, corrupted or foreign recovery file, this one or an " +
  'earlier one, or a file written before a root-key rotation: those stop working once the rotation ' +
  'has finished; use the files written after it). SPIKE Nexus keeps every share given and is still ' +
  'not ready. Continue with another ' +
  'recovery file of this system; if a file was wrong, give the right file with the same share index: ' +
  'it replaces the wrong share.';

async function readShareText(io: CliIo): Promise<string> {
  if (io.stdin.isTTY === true) {
    return promptLine(io.stdin, io.stderr, 'Enter a recovery share (spike:<index>:<hex>, input hidden): ', {
      hidden: true,
      limit: MAX_SHARE_INPUT_BYTES,
    });
  }
  const bytes = await readStreamLimited(
    io.stdin,
    MAX_SHARE_INPUT_BYTES,
    'The recovery share on standard input',
  );
  try {
    const text = bytes.toString('utf8');
    if (text.trim() === '')
      throw invalidInput('No recovery share on standard input: pipe in one spike:<index>:<hex> line.');
    return text;
  } finally {
    bytes.fill(0);
  }
}

export function registerOperatorCommands(program: Command, io: CliIo): void {
  const operator = program.command('operator').description('break-the-glass recovery of the root key');

  operator
    .command('recover')
    .description('export the recovery shares to files (needs the Pilot recover role)')
    .option(
      '--pgp-keys <files>',
      "encrypt each share to one custodian's OpenPGP public key: comma-separated armored key files, one per share, in share order (no share is written in plaintext)",
    )
    .action(async (opts: { pgpKeys?: string }) => {
      await withNexus(io, 'recover', ({ client }) => saveRecoveryShares(io, client, opts.pgpKeys));
    });

  operator
    .command('restore')
    .description('give SPIKE Nexus one recovery share (needs the Pilot restore role); reads stdin or prompts')
    .action(async () => {
      await withNexus(
        io,
        'restore',
        async ({ client }) => {
          const text = await readShareText(io);
          if (text.includes('-----BEGIN PGP MESSAGE-----')) {
            throw invalidInput(
              'This recovery share is still encrypted (spike operator recover --pgp-keys wrote it for a custodian). ' +
                'The custodian decrypts it first: gpg --decrypt spike.recovery.<index>.asc | spike operator restore',
            );
          }
          const { id, shard } = parseShard(text);
          try {
            const status = await client.restore(id, shard);
            io.stderr.write(
              status.restored
                ? 'SPIKE is now restored and ready to use.\n'
                : `Shards collected: ${status.collected}, remaining: ${status.remaining}\n`,
            );
          } finally {
            shard.fill(0);
          }
        },
        { badRequest: RESTORE_REJECTED_MESSAGE },
      );
    });

  registerDamagedCommands(operator, io);
  registerRotateRootKeyCommand(operator, io);
}
