/**
 * @module decode-response
 * Strict readers for Nexus answers. Nexus is authenticated, but the SDK still refuses to hand
 * its caller a value of the wrong shape: a malformed answer is a `SpikeError` (`unknown`).
 */
import { SHARD_SIZE } from '@spike-ts/protocol';
import { SpikeError } from './spike-error.ts';

/** An answer read field by field; `K` is the field names its response type has. */
type Fields<K extends string> = { readonly [F in K]?: unknown };

function malformed(field: string): SpikeError {
  return new SpikeError('unknown', 200, `SPIKE Nexus sent a malformed answer (field '${field}').`);
}

export function readStringMap<K extends string>(body: Fields<K>, field: NoInfer<K>): Record<string, string> {
  const value = body[field];
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw malformed(field);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw malformed(field);
    out[k] = v;
  }
  return { ...out };
}

export function readStringArray<K extends string>(body: Fields<K>, field: NoInfer<K>): string[] {
  const value = body[field];
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw malformed(field);
  const out: string[] = [];
  for (const v of value as unknown[]) {
    if (typeof v !== 'string') throw malformed(field);
    out.push(v);
  }
  return out;
}

export function readString<K extends string>(body: Fields<K>, field: NoInfer<K>, fallback?: string): string {
  const value = body[field];
  if (typeof value === 'string') return value;
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  throw malformed(field);
}

export function readInt<K extends string>(body: Fields<K>, field: NoInfer<K>): number {
  const value = body[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw malformed(field);
  return value;
}

export function readBool<K extends string>(body: Fields<K>, field: NoInfer<K>): boolean {
  const value = body[field];
  if (typeof value !== 'boolean') throw malformed(field);
  return value;
}

export function readObject<K extends string>(body: Fields<K>, field: NoInfer<K>): Record<string, unknown> {
  const value = body[field];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(field);
  return value as Record<string, unknown>;
}

/** Strict standard base64 (what Go's encoding/json produces for []byte). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function readBase64<K extends string>(body: Fields<K>, field: NoInfer<K>): Uint8Array {
  const value = body[field];
  if (value === null || value === undefined) return new Uint8Array(0);
  if (typeof value !== 'string' || !BASE64.test(value)) throw malformed(field);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/** A 32-byte shard sent as a JSON array of 32 integers 0..255. */
export function shardFromJson(value: unknown, field: string): Uint8Array {
  if (!Array.isArray(value) || value.length !== SHARD_SIZE) throw malformed(field);
  const shard = new Uint8Array(SHARD_SIZE);
  for (let i = 0; i < SHARD_SIZE; i++) {
    const b: unknown = value[i];
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) {
      shard.fill(0);
      throw malformed(field);
    }
    shard[i] = b;
  }
  return shard;
}
