/**
 * The keeper's only state: one 32-byte Shamir share, in memory only. It is never written to disk,
 * never logged, and zeroed when replaced and when the process exits.
 */
import { SHARD_SIZE } from '@spike-ts/protocol';

export interface ShardHolder {
  /** Store a copy of `shard` (exactly 32 bytes, not all zero); the previous share is zeroed. */
  set(shard: Uint8Array): void;
  /** A fresh copy of the share (the caller zeroes it after use), or undefined when empty. */
  copy(): Buffer | undefined;
  /** Whether a share is held. */
  hasShard(): boolean;
  /** Zero and drop the share. */
  clear(): void;
}

export class InvalidShardError extends Error {
  override readonly name = 'InvalidShardError';
}

export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

export function createShardHolder(): ShardHolder {
  // One buffer for the lifetime of the holder, overwritten in place, so no stale copy lingers.
  const shard = Buffer.alloc(SHARD_SIZE);
  let held = false;
  return {
    set(next) {
      if (next.length !== SHARD_SIZE) throw new InvalidShardError(`a shard must be ${SHARD_SIZE} bytes`);
      if (isAllZero(next)) throw new InvalidShardError('a shard must not be all zero');
      shard.fill(0);
      shard.set(next);
      held = true;
    },
    copy() {
      if (!held) return undefined;
      return Buffer.from(shard);
    },
    hasShard() {
      return held;
    },
    clear() {
      shard.fill(0);
      held = false;
    },
  };
}
