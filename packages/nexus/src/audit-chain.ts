/**
 * The verifiable audit chain (ADR 0040): a sink in front of the main thread's audit sinks that
 * appends `seq` and `prev` (SHA-256 of the previous line's bytes) to every line and writes signed
 * checkpoints — at start, every N records, within a time after any record, around a reopen
 * (SIGHUP) and at stop. API threads forward their lines to the main thread, so one process
 * writes one chain; at start the chain continues from the last line of the audit file. Also loads
 * (or creates) the Ed25519 checkpoint key.
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import {
  AUDIT_GENESIS_PREV,
  auditKeyId,
  auditLineHash,
  auditPublicKeyPem,
  chainLine,
  generateAuditSigningKeyPem,
  parseAuditPrivateKey,
  signCheckpointLine,
  type CheckpointReason,
} from '@spike-ts/protocol';
import type { AuditSink } from './audit.ts';

type KeyObject = ReturnType<typeof parseAuditPrivateKey>['privateKey'];

export interface AuditSigner {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyId: string;
  /** Where the key is, or null for a key of this process only. */
  readonly keyFile: string | null;
}

/** The audit key file could not be used (start-up error). */
export class AuditKeyError extends Error {
  override readonly name = 'AuditKeyError';
}

function signerOf(pem: string, keyFile: string | null): AuditSigner {
  const { privateKey, publicKey } = parseAuditPrivateKey(pem);
  return {
    privateKey,
    publicKey,
    publicKeyPem: auditPublicKeyPem(publicKey),
    keyId: auditKeyId(publicKey),
    keyFile,
  };
}

/**
 * The checkpoint key: read from `keyFile` (which group and others must not be able to read), or
 * created there (0600, its directory 0700) when missing; `null` = a new key of this process only.
 * The public key is (re)written beside the key as `<keyFile>.pub`.
 */
export function loadAuditSigner(keyFile: string | null): AuditSigner {
  if (keyFile === null) return signerOf(generateAuditSigningKeyPem(), null);
  let pem: string;
  try {
    const mode = statSync(keyFile).mode;
    if ((mode & 0o077) !== 0) {
      throw new AuditKeyError(
        `SPIKE_NEXUS_AUDIT_SIGNING_KEY: ${keyFile} may be read by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    pem = readFileSync(keyFile, 'utf8');
  } catch (err) {
    if (err instanceof AuditKeyError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new AuditKeyError(
        `SPIKE_NEXUS_AUDIT_SIGNING_KEY: cannot read ${keyFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
    pem = generateAuditSigningKeyPem();
    try {
      mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
      writeFileSync(keyFile, pem, { mode: 0o600, flag: 'wx' });
    } catch (werr) {
      if ((werr as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AuditKeyError(
          `SPIKE_NEXUS_AUDIT_SIGNING_KEY: cannot create ${keyFile} (${(werr as NodeJS.ErrnoException).code ?? String(werr)})`,
        );
      }
      pem = readFileSync(keyFile, 'utf8');
    }
  }
  let signer: AuditSigner;
  try {
    signer = signerOf(pem, keyFile);
  } catch (err) {
    throw new AuditKeyError(`SPIKE_NEXUS_AUDIT_SIGNING_KEY: ${keyFile}: ${(err as Error).message}`);
  }
  try {
    writeFileSync(`${keyFile}.pub`, signer.publicKeyPem, { mode: 0o644 });
  } catch {
    // The public key is also served by the API and `spike audit public-key`; a read-only
    // directory for the .pub file is not a reason to refuse to start.
  }
  return signer;
}

/** Where the chain goes on: the last complete line of an existing audit file. */
export interface ChainTail {
  readonly seq: number;
  readonly hash: string;
  /** The file ended inside a line (a write was cut): a newline is written first. */
  readonly torn: boolean;
}

/** The longest tail read to find the last line (audit lines are far shorter). */
const TAIL_BYTES = 1024 * 1024;

/** The last line of `path` (seq and hash), or null when the file is missing or empty. */
export function readChainTail(path: string): ChainTail | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return null;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const text = buf.toString('utf8');
    const torn = !text.endsWith('\n');
    const body = torn ? text : text.slice(0, -1);
    const line = body.slice(body.lastIndexOf('\n') + 1);
    let seq = 0;
    try {
      const parsed = JSON.parse(line) as { seq?: unknown };
      if (!torn && Number.isSafeInteger(parsed.seq)) seq = parsed.seq as number;
    } catch {
      // Not a chained line (cut, or written before the chain existed): the chain restarts its count.
    }
    return { seq, hash: auditLineHash(line), torn };
  } finally {
    closeSync(fd);
  }
}

export interface ChainOptions {
  readonly signer: AuditSigner;
  /** A checkpoint after this many records. */
  readonly everyRecords: number;
  /** A checkpoint within this time after any record (milliseconds). */
  readonly intervalMs: number;
  /** The chain before this process (`readChainTail`), or null to start a new chain. */
  readonly tail: ChainTail | null;
  /** Epoch milliseconds. */
  readonly now?: () => number;
}

export interface ChainSink extends AuditSink {
  /** The last checkpoint line written (without its newline). */
  lastCheckpoint(): string;
}

/** Chains every line written to `inner` and adds the checkpoints; writes the start checkpoint now. */
export function chainAuditSink(inner: AuditSink, options: ChainOptions): ChainSink {
  const { signer } = options;
  const now = options.now ?? Date.now;
  let seq = options.tail?.seq ?? 0;
  let prev = options.tail?.hash ?? AUDIT_GENESIS_PREV;
  let pending = 0;
  let last = '';
  let closed = false;

  const append = (line: string): string => {
    seq++;
    // A line that is not an object (never written by the audit log) is kept as a string field.
    const chained =
      chainLine(line, seq, prev) ?? chainLine(JSON.stringify({ unparsed: line }), seq, prev) ?? '';
    prev = auditLineHash(chained);
    return `${chained}\n`;
  };
  const checkpointText = (reason: CheckpointReason): string => {
    const body = JSON.stringify({
      time: new Date(now()).toISOString(),
      checkpoint: reason,
      records: pending,
      keyId: signer.keyId,
    });
    seq++;
    const line = signCheckpointLine(chainLine(body, seq, prev) as string, signer.privateKey);
    prev = auditLineHash(line);
    pending = 0;
    last = line;
    return `${line}\n`;
  };

  inner.write((options.tail?.torn === true ? '\n' : '') + checkpointText('start'));
  const timer = setInterval(() => {
    if (pending > 0 && !closed) inner.write(checkpointText('interval'));
  }, options.intervalMs);
  timer.unref();

  return {
    write(lines) {
      if (closed) return;
      let out = '';
      let start = 0;
      while (start < lines.length) {
        let end = lines.indexOf('\n', start);
        if (end === -1) end = lines.length;
        if (end > start) {
          out += append(lines.slice(start, end));
          pending++;
          if (pending >= options.everyRecords) out += checkpointText('interval');
        }
        start = end + 1;
      }
      if (out !== '') inner.write(out);
    },
    reopen() {
      if (closed) return;
      // The old file ends sealed; the new one begins with a signed checkpoint that continues the chain.
      inner.write(checkpointText('rotate'));
      inner.reopen?.();
      inner.write(checkpointText('reopen'));
    },
    lastCheckpoint: () => last,
    async close() {
      if (!closed) {
        closed = true;
        clearInterval(timer);
        inner.write(checkpointText('stop'));
      }
      await inner.close();
    },
  };
}
