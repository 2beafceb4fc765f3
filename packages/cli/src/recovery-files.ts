/**
 * @module recovery-files
 * Writes the recovery shares of `spike operator recover` to disk: one file per share,
 * `spike.recovery.<i>.txt`, mode 0600, in a 0700 directory that must be a real directory owned
 * by this user (not a symlink, not group/world accessible). This is the only place where key
 * material is written to disk, on the operator's explicit request.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError, ExitCode } from './exit-code.ts';
import { formatShard } from './recovery-shard.ts';
import { readOptionalSetting, SPIKE_PILOT_RECOVERY_DIR } from '@spike-ts/settings';

export interface RecoveryShard {
  id: number;
  shard: Uint8Array;
}

/** `$SPIKE_PILOT_RECOVERY_DIR/recover`, else `~/.spike/recover`. */
export function recoveryDir(env: Readonly<Record<string, string | undefined>>, home = homedir()): string {
  const parent = readOptionalSetting(env, SPIKE_PILOT_RECOVERY_DIR);
  return parent !== undefined ? join(parent, 'recover') : join(home, '.spike', 'recover');
}

/** Create the directory (0700) if missing, then refuse anything that is not safe to write into. */
export async function ensureSafeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(
      `Cannot create the recovery directory ${dir} (${code}). Check the path and its permissions.`,
    );
  }
  const st = await lstat(dir);
  if (st.isSymbolicLink()) {
    throw new CliError(`Refusing to write recovery files: ${dir} is a symbolic link. Use a real directory.`);
  }
  if (!st.isDirectory()) {
    throw new CliError(`Refusing to write recovery files: ${dir} is not a directory.`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new CliError(`Refusing to write recovery files: ${dir} is owned by another user (uid ${st.uid}).`);
  }
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new CliError(
      `Refusing to write recovery files: ${dir} has mode ${mode}; it must be accessible only by you. ` +
        `Run 'chmod 700 ${dir}' and try again.`,
      ExitCode.General,
    );
  }
}

/** Removes earlier recovery files (`spike.recovery*.txt`, and the encrypted `spike.recovery*.asc`). */
export async function removeRecoveryFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith('spike.recovery') && (name.endsWith('.txt') || name.endsWith('.asc'))) {
      await unlink(join(dir, name));
    }
  }
}

/** Creates `file` (it must not exist; no symlink followed), mode 0600, with `text`, synced. */
export async function writeNewSecretFile(file: string, text: string): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const handle = await open(file, flags, 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write every share; returns the file paths. Earlier recovery files are removed first. */
export async function writeRecoveryFiles(dir: string, shards: readonly RecoveryShard[]): Promise<string[]> {
  await ensureSafeDir(dir);
  await removeRecoveryFiles(dir);
  const written: string[] = [];
  for (const { id, shard } of shards) {
    const file = join(dir, `spike.recovery.${id}.txt`);
    await writeNewSecretFile(file, formatShard(id, shard));
    written.push(file);
  }
  return written;
}
