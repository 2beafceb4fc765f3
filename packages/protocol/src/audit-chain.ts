/**
 * The audit chain's line format (ADR 0040), shared by the Nexus that writes it and the CLI that
 * verifies it. Every audit line is one JSON object ending in `"seq":N,"prev":"<hex>"}`: `seq`
 * counts lines, `prev` is the SHA-256 of the exact bytes of the line before (without its
 * newline). Checkpoint lines (a `checkpoint` field) end in `,"sig":"<base64>"}`: an Ed25519
 * signature over the line without that suffix. A signature covers `prev`, so it vouches for every
 * line before it. Hashes are taken over the bytes as written, never over a re-serialization, so
 * fields this code does not know are covered like the others.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as signBytes,
  verify as verifySignature,
  type KeyObject,
} from 'node:crypto';

/** `prev` of a chain's first line: nothing came before it. */
export const AUDIT_GENESIS_PREV = '0'.repeat(64);

/** Prefix of what a checkpoint signature covers (domain separation from any other use of the key). */
const SIGNED_PREFIX = 'spike-ts audit checkpoint v1\n';

/** Why a checkpoint was written. */
export type CheckpointReason = 'start' | 'interval' | 'rotate' | 'reopen' | 'stop';
const START_REASONS: ReadonlySet<string> = new Set(['start', 'reopen']);
const REASONS: ReadonlySet<string> = new Set(['start', 'interval', 'rotate', 'reopen', 'stop']);

const SIG_SUFFIX = /,"sig":"([A-Za-z0-9+/]{86}==)"\}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** SHA-256 (hex) of one line's bytes, without its newline. */
export function auditLineHash(line: string): string {
  return createHash('sha256').update(line, 'utf8').digest('hex');
}

/** The bytes a checkpoint signature covers. */
export function checkpointSignedBytes(unsignedLine: string): Buffer {
  return Buffer.from(SIGNED_PREFIX + unsignedLine, 'utf8');
}

/** Short key identifier: the first 16 hex digits of SHA-256 over the SPKI DER of the public key. */
export function auditKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/**
 * `line` (a JSON object text) with the chain fields appended: `{…,"seq":N,"prev":"…"}`.
 * Returns null when `line` is not an object's text.
 */
export function chainLine(line: string, seq: number, prev: string): string | null {
  if (!line.startsWith('{') || !line.endsWith('}')) return null;
  const body = line.slice(0, -1);
  return `${body}${body === '{' ? '' : ','}"seq":${String(seq)},"prev":"${prev}"}`;
}

/** A new Ed25519 signing key as PKCS#8 PEM (Nexus's audit key). */
export function generateAuditSigningKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The audit signing key from PKCS#8 PEM text (throws a clear error for anything but Ed25519). */
export function parseAuditPrivateKey(pem: string): { privateKey: KeyObject; publicKey: KeyObject } {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new Error('not a PEM private key (expected "-----BEGIN PRIVATE KEY-----", Ed25519)');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the key is ${privateKey.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  }
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** The public key as SPKI PEM text. */
export function auditPublicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

/** `unsignedLine` (a checkpoint object's text) with its signature appended. */
export function signCheckpointLine(unsignedLine: string, privateKey: KeyObject): string {
  const sig = signBytes(null, checkpointSignedBytes(unsignedLine), privateKey).toString('base64');
  return `${unsignedLine.slice(0, -1)},"sig":"${sig}"}`;
}

/** A public key for `verifyAuditChain`, from PEM text (throws a clear error for anything else). */
export function parseAuditPublicKey(pem: string): KeyObject {
  if (pem.includes('PRIVATE KEY')) throw new Error('a private key: give the public key (the .pub file)');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", Ed25519)');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the public key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  }
  return key;
}

export interface AuditFileText {
  /** Shown in findings. */
  readonly name: string;
  readonly text: string;
}

export interface AuditVerifyOptions {
  /** Trusted public keys (several after a key change). */
  readonly publicKeys: readonly KeyObject[];
  /**
   * A checkpoint line obtained elsewhere (syslog aggregator, `spike audit public-key --checkpoint`):
   * the files must contain exactly this line, which detects a tail cut before it.
   */
  readonly anchor?: string;
  /** Accept records after the last checkpoint (a live file between two checkpoints). */
  readonly allowUnsealedTail?: boolean;
}

export interface AuditFinding {
  readonly file: string;
  /** 1-based line number in `file`. */
  readonly line: number;
  readonly reason: string;
}

export interface AuditVerifyResult {
  readonly ok: boolean;
  /** The first bad line, when not ok. */
  readonly finding?: AuditFinding;
  readonly lines: number;
  readonly checkpoints: number;
  /** Lines after the last checkpoint (not covered by any signature). */
  readonly unsealed: number;
  /** Where the last good checkpoint is, if any. */
  readonly lastCheckpoint?: { readonly file: string; readonly line: number; readonly seq: number };
}

interface Parsed {
  readonly seq: number;
  readonly prev: string;
  readonly checkpoint?: string;
  readonly keyId?: string;
}

function parseLine(line: string): Parsed | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not valid JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const o = value as Record<string, unknown>;
  if (!Number.isSafeInteger(o['seq']) || (o['seq'] as number) < 1)
    return 'no valid "seq" (not a chained record)';
  if (typeof o['prev'] !== 'string' || !HEX64.test(o['prev']))
    return 'no valid "prev" (not a chained record)';
  const checkpoint = o['checkpoint'];
  if (checkpoint !== undefined && (typeof checkpoint !== 'string' || !REASONS.has(checkpoint))) {
    return 'unknown "checkpoint" kind';
  }
  return {
    seq: o['seq'] as number,
    prev: o['prev'],
    ...(typeof checkpoint === 'string' ? { checkpoint } : {}),
    ...(typeof o['keyId'] === 'string' ? { keyId: o['keyId'] } : {}),
  };
}

/** Feeds lines one by one (files in the order they were written); `finish` gives the result. */
export interface AuditChainVerifier {
  /** One line without its newline; false once a bad line was found (stop feeding). */
  line(file: string, n: number, text: string): boolean;
  /** The file `file` ended after line `n` without a final newline. */
  cut(file: string, n: number): void;
  finish(): AuditVerifyResult;
}

/**
 * Checks an audit chain and names the first bad line: a line that is not a chained record, a
 * `prev` that does not match the line before (a line edited, removed or inserted), a `seq` out of
 * order, a checkpoint whose signature does not verify with any of `publicKeys`, a file cut inside
 * a line, a tail after the last checkpoint (unless allowed), or an `anchor` checkpoint missing.
 */
export function createAuditChainVerifier(options: AuditVerifyOptions): AuditChainVerifier {
  const keys = new Map(options.publicKeys.map((k) => [auditKeyId(k), k] as const));
  let lines = 0;
  let checkpoints = 0;
  let unsealed = 0;
  let last: { file: string; line: number; seq: number } | undefined;
  let before: { text: string; seq: number } | undefined;
  let anchorSeen = options.anchor === undefined;
  let finding: AuditFinding | undefined;
  let at = { file: '', line: 0 };
  const summary = (): AuditVerifyResult => ({
    ok: finding === undefined,
    ...(finding === undefined ? {} : { finding }),
    lines,
    checkpoints,
    unsealed,
    ...(last === undefined ? {} : { lastCheckpoint: last }),
  });
  const fail = (file: string, line: number, reason: string): false => {
    finding ??= { file, line, reason };
    return false;
  };
  const check = (file: string, n: number, text: string): boolean => {
    at = { file, line: n };
    const parsed = parseLine(text);
    if (typeof parsed === 'string') return fail(file, n, parsed);
    if (before === undefined) {
      if (parsed.checkpoint === undefined || !START_REASONS.has(parsed.checkpoint)) {
        return fail(
          file,
          n,
          'the first line is not a start or reopen checkpoint: the head of the file is missing ' +
            '(or give the file written before it first)',
        );
      }
    } else {
      if (parsed.checkpoint === 'start' && parsed.prev === AUDIT_GENESIS_PREV) {
        // Accepting it would let whole chains be reordered or dropped: one chain per verification.
        return fail(
          file,
          n,
          'a new chain begins here (a Nexus started with no audit file to continue): verify it ' +
            'separately, from this line on',
        );
      }
      if (parsed.prev !== auditLineHash(before.text)) {
        return fail(
          file,
          n,
          `"prev" does not match the line before (seq ${String(before.seq)}): that line was edited, ` +
            'or lines between them were removed, inserted or reordered',
        );
      }
      if (parsed.seq !== before.seq + 1) {
        return fail(
          file,
          n,
          `"seq" is ${String(parsed.seq)} after ${String(before.seq)}: lines were removed, inserted or reordered`,
        );
      }
    }
    lines++;
    if (parsed.checkpoint !== undefined) {
      const m = SIG_SUFFIX.exec(text);
      if (m === null) return fail(file, n, 'checkpoint without a signature');
      const key = parsed.keyId === undefined ? undefined : keys.get(parsed.keyId);
      if (key === undefined) {
        return fail(
          file,
          n,
          `checkpoint signed by key ${parsed.keyId ?? '(none)'}, which is not among the public keys given`,
        );
      }
      const unsigned = `${text.slice(0, m.index)}}`;
      const sig = Buffer.from(m[1] as string, 'base64');
      if (!verifySignature(null, checkpointSignedBytes(unsigned), key, sig)) {
        return fail(file, n, 'checkpoint signature does not verify: the checkpoint was forged or altered');
      }
      checkpoints++;
      unsealed = 0;
      last = { file, line: n, seq: parsed.seq };
      if (options.anchor !== undefined && text === options.anchor) anchorSeen = true;
    } else {
      unsealed++;
    }
    before = { text, seq: parsed.seq };
    return true;
  };
  return {
    line: (file, n, text) => finding === undefined && check(file, n, text),
    cut(file, n) {
      fail(file, n, 'the file ends inside a line: it was cut (truncated) mid-record');
    },
    finish() {
      if (finding !== undefined) return summary();
      if (before === undefined) fail(at.file, 1, 'no audit records');
      else if (!anchorSeen) {
        fail(
          at.file,
          at.line,
          'the checkpoint given (or the last one Nexus wrote) is not in the file: the tail was cut (truncated) before it',
        );
      } else if (unsealed > 0 && options.allowUnsealedTail !== true) {
        fail(
          at.file,
          at.line - unsealed + 1,
          `the last ${String(unsealed)} line(s) are not covered by a signed checkpoint: the tail may have been ` +
            'cut, or Nexus is still running (use --allow-unsealed-tail for a live file)',
        );
      }
      return summary();
    },
  };
}

/** `createAuditChainVerifier` over whole files held in memory. */
export function verifyAuditChain(
  files: readonly AuditFileText[],
  options: AuditVerifyOptions,
): AuditVerifyResult {
  const v = createAuditChainVerifier(options);
  for (const file of files) {
    const parts = file.text.split('\n');
    const tail = parts.pop();
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) ok = v.line(file.name, i + 1, parts[i] as string);
    if (!ok) break;
    if (tail !== undefined && tail !== '') {
      v.cut(file.name, parts.length + 1);
      break;
    }
  }
  return v.finish();
}
