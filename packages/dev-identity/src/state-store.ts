/**
 * Persistence of the dev issuer's CA and JWT signing key in its state directory (mode 0700;
 * key files 0600). A stored CA is reused across restarts while it stays valid long enough;
 * otherwise a new one is made.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pemToDer } from '@spike-ts/identity';
import { createCa, importCa } from '@spike-ts/identity/mint';
import type { MintedCa } from '@spike-ts/identity/mint';
import type { IdentityLogger } from '@spike-ts/identity';

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
export const JWT_KEY_FILE = 'jwt.key';
export const BUNDLE_FILE = 'bundle.pem';
const MAX_STATE_FILE_BYTES = 64 * 1024;

/** Creates `dir` (and parents) if needed and sets its mode. Refuses symlinks and non-directories. */
export function ensurePrivateDir(dir: string, mode: number): void {
  fs.mkdirSync(dir, { recursive: true, mode });
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && uid !== 0) {
    throw new Error(`${dir} belongs to another user (uid ${st.uid}); use a directory you own`);
  }
  fs.chmodSync(dir, mode);
}

/** Writes a file atomically (temp file + rename) with the given mode. */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

function readSmallFile(file: string): Buffer | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return undefined;
  }
  if (!st.isFile()) throw new Error(`${file} is not a regular file`);
  if (st.size > MAX_STATE_FILE_BYTES) throw new Error(`${file} is unexpectedly large`);
  return fs.readFileSync(file);
}

export interface LoadCaOptions {
  stateDir: string;
  trustDomain: string;
  caTtlMs: number;
  /** A stored CA with less validity left than this is replaced. */
  minRemainingMs: number;
  now: Date;
  log: IdentityLogger;
}

/** Loads the stored CA when usable, else creates and stores a new one. */
export async function loadOrCreateCa(opts: LoadCaOptions): Promise<{ ca: MintedCa; reused: boolean }> {
  const certFile = path.join(opts.stateDir, CA_CERT_FILE);
  const keyFile = path.join(opts.stateDir, CA_KEY_FILE);
  const certPem = readSmallFile(certFile);
  const keyPem = readSmallFile(keyFile);
  if (certPem !== undefined && keyPem !== undefined) {
    let keyDer: Uint8Array | undefined;
    try {
      const certDer = pemToDer(certPem.toString('utf8'), 'CERTIFICATE')[0];
      keyDer = pemToDer(keyPem.toString('utf8'), 'PRIVATE KEY')[0];
      if (certDer === undefined || keyDer === undefined) throw new Error('missing PEM block');
      const ca = await importCa({ certDer, keyPkcs8Der: keyDer });
      const reason = unusableReason(ca, opts);
      if (reason === undefined) {
        opts.log.info('reusing stored development CA', { notAfter: ca.notAfter.toISOString() });
        return { ca, reused: true };
      }
      opts.log.info('stored development CA is not usable; creating a new one', { reason });
    } catch (err) {
      opts.log.warn('stored development CA could not be loaded; creating a new one', {
        reason: (err as Error).message,
      });
    } finally {
      keyDer?.fill(0);
      keyPem.fill(0);
    }
  }
  const ca = await createNewCa(opts);
  return { ca, reused: false };
}

function unusableReason(ca: MintedCa, opts: LoadCaOptions): string | undefined {
  if (ca.trustDomain !== opts.trustDomain) return `it is for trust domain ${ca.trustDomain}`;
  if (ca.parent !== undefined) return 'it is not a root';
  if (ca.notBefore.getTime() > opts.now.getTime() + 60_000) return 'it is not valid yet';
  if (ca.notAfter.getTime() - opts.now.getTime() < opts.minRemainingMs) return 'it expires too soon';
  return undefined;
}

/** Creates a new root CA and stores it (key 0600). */
export async function createNewCa(opts: LoadCaOptions): Promise<MintedCa> {
  const ca = await createCa({ trustDomain: opts.trustDomain, ttlMs: opts.caTtlMs, now: opts.now });
  writeFileAtomic(path.join(opts.stateDir, CA_KEY_FILE), ca.keyPem, 0o600);
  writeFileAtomic(path.join(opts.stateDir, CA_CERT_FILE), ca.certPem, 0o644);
  opts.log.info('created a new development CA', {
    trustDomain: ca.trustDomain,
    notAfter: ca.notAfter.toISOString(),
  });
  return ca;
}

/** Loads the stored JWT signing key (EC P-256) or creates and stores one (0600). */
export function loadOrCreateJwtKey(stateDir: string, log: IdentityLogger): KeyObject {
  const file = path.join(stateDir, JWT_KEY_FILE);
  const pem = readSmallFile(file);
  if (pem !== undefined) {
    try {
      const key = createPrivateKey({ key: pem, format: 'pem' });
      if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return key;
      log.warn('stored JWT key is not an EC P-256 key; creating a new one');
    } catch (err) {
      log.warn('stored JWT key could not be loaded; creating a new one', { reason: (err as Error).message });
    } finally {
      pem.fill(0);
    }
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileAtomic(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), 0o600);
  return privateKey;
}
