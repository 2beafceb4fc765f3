/**
 * @module save-recovery-shares
 * Writing the recovery shares Nexus exports: one plain file per share, or one file per share
 * encrypted to one custodian's OpenPGP key. Used by `spike operator recover` and
 * `spike operator rotate-root-key` (which writes the new key's files at once).
 */
import type { SpikeClient } from '@spike-ts/sdk';
import type { CliIo } from '../cli-io.ts';

/**
 * Asks Nexus for every recovery share and writes them: one plain file per share, or with
 * `pgpKeys` one file per share encrypted to one custodian's OpenPGP key (every key is checked
 * before Nexus is asked). Needs the Pilot recover role. Shared by `recover` and `rotate-root-key`.
 */
export async function saveRecoveryShares(io: CliIo, client: SpikeClient, pgpKeys?: string): Promise<void> {
  const pgp = pgpKeys === undefined ? undefined : await import('../recovery-pgp.ts');
  const custodians =
    pgp === undefined || pgpKeys === undefined
      ? undefined
      : await pgp.readCustodianKeys(pgp.splitKeyList(pgpKeys));
  const shards = await client.recover();
  try {
    const { recoveryDir, writeRecoveryFiles } = await import('../recovery-files.ts');
    const dir = recoveryDir(io.env);
    if (pgp !== undefined && custodians !== undefined) {
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
      return;
    }
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
}
