/**
 * Writes a JSON body whose first field is SPIKE's shard array — `{"shard":[n,...]<rest>}` — directly
 * into bytes, so a share never becomes an (unzeroable) JavaScript string on its way out. The caller
 * zeroes the returned buffer after sending it.
 *
 * `rest` is appended verbatim after the array, e.g. `,"Err":""` for the keeper's shard response.
 */
const encoder = new TextEncoder();
const PREFIX = encoder.encode('{"shard":[');

export function encodeShardBody(shard: Uint8Array, rest = ''): Uint8Array {
  const suffix = encoder.encode(rest + '}');
  let length = PREFIX.length + suffix.length + ']'.length + Math.max(0, shard.length - 1);
  for (const v of shard) length += v >= 100 ? 3 : v >= 10 ? 2 : 1;
  const out = new Uint8Array(length);
  out.set(PREFIX, 0);
  let at = PREFIX.length;
  for (let i = 0; i < shard.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ','
    const v = shard[i] ?? 0;
    if (v >= 100) out[at++] = 0x30 + Math.floor(v / 100);
    if (v >= 10) out[at++] = 0x30 + (Math.floor(v / 10) % 10);
    out[at++] = 0x30 + (v % 10);
  }
  out[at++] = 0x5d; // ']'
  out.set(suffix, at);
  return out;
}
