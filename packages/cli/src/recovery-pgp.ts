/**
 * @module recovery-pgp
 * Recovery shares for named custodians (ADR 0041): `spike operator recover --pgp-keys a.asc,…`
 * checks every custodian's OpenPGP public key before anything is asked of Nexus, then encrypts
 * share i to key i with openpgp.js, in memory, and writes only the armored messages
 * (`spike.recovery.<i>.asc`, 0600): no share is ever written in plaintext. The custodian
 * decrypts with `gpg --decrypt`, which gives back the `spike:<i>:<hex>` text that
 * `spike operator restore` reads. Loaded only by that command.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { CliError, invalidInput, usageError } from './exit-code.ts';
import { formatShard } from './recovery-shard.ts';
import {
  ensureSafeDir,
  removeRecoveryFiles,
  writeNewSecretFile,
  type RecoveryShard,
} from './recovery-files.ts';

/** Largest key file read (a public key with many signatures is still far smaller). */
const MAX_KEY_FILE = 1024 * 1024;

export interface Custodian {
  /** The file the key came from, as given. */
  readonly file: string;
  /** Upper-case hex, as gpg prints it. */
  readonly fingerprint: string;
  /** The primary user ID (`Name <email>`), or '' when it has none. */
  readonly userId: string;
  readonly key: openpgp.Key;
}

/** The `--pgp-keys` value: comma-separated paths, none empty. */
export function splitKeyList(value: string): string[] {
  const paths = value.split(',').map((p) => p.trim());
  if (paths.length === 0 || paths.some((p) => p === '')) {
    throw usageError('--pgp-keys takes a comma-separated list of OpenPGP public key files, none empty');
  }
  return paths;
}

const nothingWritten = 'Nothing was asked of SPIKE Nexus and nothing was written.';

async function readKeyFile(path: string): Promise<string> {
  try {
    if ((await stat(path)).size > MAX_KEY_FILE) {
      throw invalidInput(
        `The custodian key file ${path} is larger than 1 MiB: not a public key. ${nothingWritten}`,
      );
    }
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw invalidInput(`Cannot read the custodian key file ${path} (${code}). ${nothingWritten}`);
  }
}

/**
 * Reads and checks one custodian key per file: armored, one public key (a private key is refused
 * and never written anywhere), not revoked, not expired, able to encrypt; no key twice.
 */
export async function readCustodianKeys(paths: readonly string[], now = new Date()): Promise<Custodian[]> {
  const out: Custodian[] = [];
  for (const file of paths) {
    const text = await readKeyFile(file);
    const bad = (why: string): CliError =>
      invalidInput(`The custodian key ${file} ${why}. ${nothingWritten}`);
    if (text.includes('PRIVATE KEY BLOCK')) {
      throw bad(
        "is a private (secret) key. Give the custodian's public key instead (gpg --armor --export <key id>); " +
          'the private key stays with the custodian',
      );
    }
    const blocks = text.split('-----BEGIN PGP PUBLIC KEY BLOCK-----').length - 1;
    if (blocks > 1) throw bad(`holds ${String(blocks)} keys; give one custodian key per file`);
    if (blocks === 0) {
      throw bad('is not an armored OpenPGP public key (no "-----BEGIN PGP PUBLIC KEY BLOCK-----" line)');
    }
    let keys: openpgp.Key[];
    try {
      keys = await openpgp.readKeys({ armoredKeys: text });
    } catch (err) {
      throw bad(`is not a valid armored OpenPGP public key (${(err as Error).message})`);
    }
    if (keys.length !== 1) {
      throw bad(`holds ${String(keys.length)} keys; give one custodian key per file`);
    }
    const key = keys[0] as openpgp.Key;
    if (key.isPrivate()) {
      throw bad(
        "is a private (secret) key. Give the custodian's public key instead (gpg --armor --export <key id>)",
      );
    }
    const fingerprint = key.getFingerprint().toUpperCase();
    if (await key.isRevoked(undefined, undefined, now)) throw bad(`(${fingerprint}) is revoked`);
    const expires = await key.getExpirationTime();
    if (expires instanceof Date && expires.getTime() <= now.getTime()) {
      throw bad(`(${fingerprint}) expired on ${expires.toISOString()}`);
    }
    try {
      await key.getEncryptionKey(undefined, now);
    } catch {
      throw bad(
        `(${fingerprint}) has no valid encryption key: it can only sign, or its encryption subkey is ` +
          'expired or revoked. Ask the custodian for a key with an encryption subkey',
      );
    }
    const twin = out.find((c) => c.fingerprint === fingerprint);
    if (twin !== undefined) {
      throw bad(
        `is the same key as ${twin.file} (${fingerprint}): each share must go to a different custodian`,
      );
    }
    let userId = '';
    try {
      userId = (await key.getPrimaryUser(now)).user.userID?.userID ?? '';
    } catch {
      userId = key.getUserIDs()[0] ?? '';
    }
    out.push({ file, fingerprint, userId, key });
  }
  return out;
}

/** Exactly one custodian per share, or an error that says how many are needed. */
export function checkCustodianCount(shares: number, custodians: number): void {
  if (shares !== custodians) {
    throw usageError(
      `SPIKE Nexus has ${String(shares)} recovery shares: give exactly ${String(shares)} custodian keys ` +
        `with --pgp-keys, one per share (got ${String(custodians)}). Nothing was written.`,
    );
  }
}

export interface EncryptedShareFile {
  readonly file: string;
  readonly custodian: Custodian;
}

/**
 * Encrypts share i (in `shards` order) to custodian i and writes `spike.recovery.<id>.asc` into
 * `dir` (checked as for plain recovery files; earlier recovery files there are removed first).
 */
export async function writeEncryptedRecoveryFiles(
  dir: string,
  shards: readonly RecoveryShard[],
  custodians: readonly Custodian[],
): Promise<EncryptedShareFile[]> {
  checkCustodianCount(shards.length, custodians.length);
  // Encrypt everything first: a failure leaves no partial set of files behind.
  const messages: string[] = [];
  for (let i = 0; i < shards.length; i++) {
    const { id, shard } = shards[i] as RecoveryShard;
    const plain = Buffer.from(formatShard(id, shard), 'utf8');
    try {
      // (Typed through its overloads; checked here rather than trusted.)
      const armored: unknown = await openpgp.encrypt({
        message: await openpgp.createMessage({
          binary: new Uint8Array(plain.buffer, plain.byteOffset, plain.length),
          format: 'utf8',
        }),
        encryptionKeys: (custodians[i] as Custodian).key,
        format: 'armored',
      });
      if (typeof armored !== 'string') throw new CliError('OpenPGP encryption gave no armored message');
      messages.push(armored);
    } finally {
      plain.fill(0);
    }
  }
  await ensureSafeDir(dir);
  await removeRecoveryFiles(dir);
  const written: EncryptedShareFile[] = [];
  for (let i = 0; i < shards.length; i++) {
    const file = join(dir, `spike.recovery.${String((shards[i] as RecoveryShard).id)}.asc`);
    await writeNewSecretFile(file, messages[i] as string);
    written.push({ file, custodian: custodians[i] as Custodian });
  }
  return written;
}
