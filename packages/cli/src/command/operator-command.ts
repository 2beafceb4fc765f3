/**
 * @module operator-command
 * Break-the-glass: `spike operator recover` (export the recovery shares to files; needs the
 * Pilot recover role) and `spike operator restore` (feed one share back; needs the restore role).
 * `spike operator damaged list|remove` lives in `damaged-command.ts`.
 */
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { withNexus } from '../nexus-session.ts';
import { promptLine, readStreamLimited } from '../read-input.ts';
import { parseShard } from '../recovery-shard.ts';
import { invalidInput } from '../exit-code.ts';
import { registerDamagedCommands } from './damaged-command.ts';

/** SPIKE reads at most this much from a non-interactive stdin. */
export const MAX_SHARE_INPUT_BYTES = 4096;

/** What a 400 to a well-formed share means: Nexus found it is not a share of this root key. */
export const RESTORE_REJECTED_MESSAGE =
  'SPIKE Nexus rejected this recovery share: together with the shares given before, it does not ' +
  "rebuild this system's root key (a wrong, corrupted or foreign recovery file, this one or an " +
  'earlier one). SPIKE Nexus keeps every share given and is still not ready. Continue with another ' +
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

/** `recover --pgp-keys`: every key checked before Nexus is asked, then one encrypted file per share. */
async function recoverForCustodians(io: CliIo, keyList: string): Promise<void> {
  const pgp = await import('../recovery-pgp.ts');
  const custodians = await pgp.readCustodianKeys(pgp.splitKeyList(keyList));
  await withNexus(io, 'recover', async ({ client }) => {
    const shards = await client.recover();
    try {
      const { recoveryDir } = await import('../recovery-files.ts');
      const dir = recoveryDir(io.env);
      const files = await pgp.writeEncryptedRecoveryFiles(dir, shards, custodians);
      io.stderr.write(
        [
          `Wrote ${String(files.length)} recovery shares to ${dir}, each encrypted to one custodian's OpenPGP key:`,
          ...files.map(
            (f) =>
              `  ${f.file}  ->  ${f.custodian.userId === '' ? '(no user ID)' : f.custodian.userId} ${f.custodian.fingerprint}`,
          ),
          '',
          'No share was written in plaintext. Check each fingerprint with its custodian, send each file',
          'to its custodian, then delete the files here. To restore, the custodian runs:',
          '  gpg --decrypt spike.recovery.<index>.asc | spike operator restore',
          '',
        ].join('\n'),
      );
    } finally {
      for (const s of shards) s.shard.fill(0);
    }
  });
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
      if (opts.pgpKeys !== undefined) {
        await recoverForCustodians(io, opts.pgpKeys);
        return;
      }
      await withNexus(io, 'recover', async ({ client }) => {
        const shards = await client.recover();
        try {
          const { recoveryDir, writeRecoveryFiles } = await import('../recovery-files.ts');
          const dir = recoveryDir(io.env);
          const files = await writeRecoveryFiles(dir, shards);
          io.stderr.write(
            [
              `Wrote ${files.length} recovery shares to ${dir}:`,
              ...files.map((f) => `  ${f}`),
              '',
              'IMPORTANT: these files can rebuild the SPIKE root key.',
              '  1. Move each file to a safe, separate, offline place (for example, one encrypted USB',
              '     drive or vault per custodian). Never keep enough of them together.',
              '  2. Then delete them from this machine (e.g. shred -u the files).',
              "  Use them with 'spike operator restore' only if SPIKE Nexus cannot recover on its own.",
              '',
            ].join('\n'),
          );
        } finally {
          for (const s of shards) s.shard.fill(0);
        }
      });
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
}
