/**
 * Writes the keeper contribute body `{"shard":[n,...]}` straight into a Buffer, so the share never
 * becomes an (unzeroable) JavaScript string. The caller zeroes the buffer after sending it.
 */
const PREFIX = Buffer.from('{"shard":[');
const SUFFIX = Buffer.from(']}');

export function encodeContributeBody(shard: Uint8Array): Buffer {
  let length = PREFIX.length + SUFFIX.length + Math.max(0, shard.length - 1);
  for (const v of shard) length += v >= 100 ? 3 : v >= 10 ? 2 : 1;
  const out = Buffer.alloc(length);
  let at = PREFIX.copy(out, 0);
  for (let i = 0; i < shard.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ','
    const v = shard[i] ?? 0;
    if (v >= 100) out[at++] = 0x30 + Math.floor(v / 100);
    if (v >= 10) out[at++] = 0x30 + (Math.floor(v / 10) % 10);
    out[at++] = 0x30 + (v % 10);
  }
  SUFFIX.copy(out, at);
  return out;
}
