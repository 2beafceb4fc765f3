/**
 * @module login/token-cache
 * Where `spike login` keeps a person's tokens (ADR 0037): one JSON file, `login.json`, in the
 * per-user config folder (`$XDG_CONFIG_HOME/spike`, else `~/.config/spike`), mode 0600 in a 0700
 * folder. It is read only when it is a regular file owned by this user that no group or other
 * user can read or write (otherwise the CLI refuses it and says how to fix it), and written
 * atomically (a private temporary file renamed over it).
 */
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { CliError, ExitCode } from '../exit-code.ts';

export interface CachedLogin {
  /** Format of this file. */
  readonly v: 1;
  readonly issuer: string;
  readonly clientId: string;
  /** The people listener this login is for. */
  readonly peopleUrl: string;
  readonly peopleCaFile?: string;
  readonly accessToken: string;
  /** Epoch ms when the access token expires. */
  readonly expiresAt: number;
  readonly refreshToken?: string;
  readonly idToken?: string;
  /** Who logged in (from the ID token), for messages only. */
  readonly user?: string;
}

/** Bigger than any real token set; a bigger file is not ours. */
const MAX_CACHE_BYTES = 256 * 1024;

export function loginDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env['XDG_CONFIG_HOME']?.trim();
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'spike');
  const home = env['HOME']?.trim();
  return join(home !== undefined && home !== '' ? home : homedir(), '.config', 'spike');
}

export function loginFile(env: Readonly<Record<string, string | undefined>>): string {
  return join(loginDir(env), 'login.json');
}

function refuse(file: string, why: string, fix: string): never {
  throw new CliError(`Refusing the login cache ${file}: ${why}. ${fix}`, ExitCode.Unauthorized);
}

/** The cached login, or undefined when there is none; throws when the file is unsafe or damaged. */
export async function readLogin(
  env: Readonly<Record<string, string | undefined>>,
): Promise<CachedLogin | undefined> {
  const file = loginFile(env);
  let handle;
  try {
    // O_NOFOLLOW: a symbolic link planted in place of the file is refused, not followed.
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') refuse(file, 'it is a symbolic link', 'Remove it and run `spike login`.');
    throw new CliError(`Cannot read the login cache ${file}: ${(err as Error).message}`, ExitCode.General);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) refuse(file, 'it is not a regular file', 'Remove it and run `spike login`.');
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      refuse(
        file,
        `it belongs to user id ${String(st.uid)}, not to you (${String(uid)})`,
        'Remove it and run `spike login`.',
      );
    }
    if ((st.mode & 0o077) !== 0) {
      refuse(
        file,
        `its mode is ${(st.mode & 0o777).toString(8).padStart(4, '0')}, so other users may read or change it`,
        'Run `spike logout` (or remove the file) and `spike login` again.',
      );
    }
    if (st.size > MAX_CACHE_BYTES)
      refuse(file, 'it is too large to be a login', 'Remove it and run `spike login`.');
    const text = await handle.readFile('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      refuse(file, 'it is not valid JSON', 'Run `spike login` again.');
    }
    return checkLogin(parsed, file);
  } finally {
    await handle.close();
  }
}

function checkLogin(value: unknown, file: string): CachedLogin {
  const o = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const str = (k: string): boolean => typeof o[k] === 'string' && o[k] !== '';
  const optStr = (k: string): boolean => o[k] === undefined || typeof o[k] === 'string';
  if (
    o['v'] !== 1 ||
    !str('issuer') ||
    !str('clientId') ||
    !str('peopleUrl') ||
    !str('accessToken') ||
    typeof o['expiresAt'] !== 'number' ||
    !optStr('refreshToken') ||
    !optStr('idToken') ||
    !optStr('user') ||
    !optStr('peopleCaFile')
  ) {
    refuse(file, 'it is not a login this CLI wrote', 'Run `spike login` again.');
  }
  return o as unknown as CachedLogin;
}

/** Writes the login: 0700 folder, 0600 file, replaced atomically. */
export async function writeLogin(
  env: Readonly<Record<string, string | undefined>>,
  login: CachedLogin,
): Promise<string> {
  const dir = loginDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new CliError(`Refusing to keep a login in ${dir}: it is not a folder of yours.`, ExitCode.General);
  }
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
  const file = loginFile(env);
  const tmp = join(dir, `.login-${String(process.pid)}-${String(Date.now())}.tmp`);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(login)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return file;
}

/** Removes the cached login; true when there was one. */
export async function removeLogin(env: Readonly<Record<string, string | undefined>>): Promise<boolean> {
  const file = loginFile(env);
  try {
    await lstat(file);
  } catch {
    return false;
  }
  await rm(file, { force: true });
  return true;
}
