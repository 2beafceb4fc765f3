/**
 * Writes the keeper's shard response `{"shard":[n,...],"Err":""}` straight into a Buffer, so the
 * share never becomes an (unzeroable) JavaScript string on its way out.
 */
const PREFIX = Buffer.from('{"shard":[');
const SUFFIX = Buffer.from('],"Err":""}');

function digitCount(v: number): number {
  return v >= 100 ? 3 : v >= 10 ? 2 : 1;
}

export function encodeShardResponse(shard: Uint8Array): Buffer {
  let length = PREFIX.length + SUFFIX.length + Math.max(0, shard.length - 1);
  for (const v of shard) length += digitCount(v);
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
