/**
 * DER/PEM helpers for certificate material. The Workload API delivers certificate chains and
 * bundles as concatenated DER (no separator, no length prefix); TLS wants PEM.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

const SEQUENCE_TAG = 0x30;
/** No certificate we accept is anywhere near this; it bounds the length arithmetic. */
const MAX_ELEMENT_BYTES = 1 << 24;

/**
 * Splits concatenated DER certificates into one buffer per certificate (copies, so the caller
 * may zero or reuse its input). Each element must be a definite-length, minimally encoded
 * SEQUENCE. Empty input gives an empty list.
 */
export function splitDer(concatenated: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < concatenated.length) {
    const start = pos;
    const tag = concatenated[pos++];
    if (tag !== SEQUENCE_TAG) throw new DerError(`element at offset ${start} is not a DER SEQUENCE`);
    const first = concatenated[pos++];
    if (first === undefined) throw new DerError(`element at offset ${start} is truncated (no length)`);
    let length: number;
    if (first < 0x80) {
      length = first;
    } else if (first === 0x80) {
      throw new DerError(`element at offset ${start} uses an indefinite length (not DER)`);
    } else {
      const count = first & 0x7f;
      if (count > 4) throw new DerError(`element at offset ${start} has an oversized length field`);
      length = 0;
      for (let i = 0; i < count; i++) {
        const b = concatenated[pos++];
        if (b === undefined) throw new DerError(`element at offset ${start} is truncated (length)`);
        if (i === 0 && b === 0) throw new DerError(`element at offset ${start} has a non-minimal length`);
        length = length * 256 + b;
      }
      if (length < 0x80) throw new DerError(`element at offset ${start} has a non-minimal length`);
    }
    if (length > MAX_ELEMENT_BYTES) throw new DerError(`element at offset ${start} is too large`);
    const end = pos + length;
    if (end > concatenated.length) throw new DerError(`element at offset ${start} is truncated`);
    out.push(concatenated.slice(start, end));
    pos = end;
  }
  return out;
}

/** Concatenates DER elements (the Workload API wire form of chains and bundles). */
export function concatDer(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Encodes DER bytes as one PEM block with 64-character lines. */
export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + '\n';
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

function isBase64Char(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2b ||
    c === 0x2f
  );
}

function decodeStrictBase64(text: string): Uint8Array {
  let clean = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x20 || c === 0x09) continue;
    clean += text[i];
  }
  let pad = 0;
  while (pad < 2 && clean.endsWith('='.repeat(pad + 1))) pad++;
  const data = clean.slice(0, clean.length - pad);
  if (data.length === 0 || clean.length % 4 !== 0) throw new DerError('PEM block has malformed base64');
  for (let i = 0; i < data.length; i++) {
    if (!isBase64Char(data.charCodeAt(i))) throw new DerError('PEM block has malformed base64');
  }
  return new Uint8Array(Buffer.from(clean, 'base64'));
}

/**
 * Decodes every PEM block (optionally only those with `label`) in document order. Text
 * outside blocks is ignored; a block without its END line or with bad base64 is an error.
 */
export function pemToDer(pem: string, label?: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const begin = '-----BEGIN ';
  let pos = 0;
  for (;;) {
    const b = pem.indexOf(begin, pos);
    if (b < 0) break;
    const labelEnd = pem.indexOf('-----', b + begin.length);
    if (labelEnd < 0 || labelEnd - b > 100) throw new DerError('PEM BEGIN line is malformed');
    const blockLabel = pem.slice(b + begin.length, labelEnd);
    const endLine = `-----END ${blockLabel}-----`;
    const e = pem.indexOf(endLine, labelEnd + 5);
    if (e < 0) throw new DerError(`PEM block "${blockLabel}" has no END line`);
    if (label === undefined || blockLabel === label) {
      out.push(decodeStrictBase64(pem.slice(labelEnd + 5, e)));
    }
    pos = e + endLine.length;
  }
  return out;
}
