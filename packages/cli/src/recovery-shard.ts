/**
 * @module recovery-shard
 * The recovery share text format shared by `operator recover` (writes it) and `operator restore`
 * (reads it): `spike:<index>:<64 lowercase hex chars>`, no newline. Error messages never echo
 * the share itself.
 */
import { SHARD_SIZE } from '@spike-ts/protocol';
import { invalidInput } from './exit-code.ts';

/** The largest share index we accept (SPIKE's `SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT` default). */
export const MAX_SHARE_INDEX = 1000;

export interface ParsedShard {
  id: number;
  /** 32 bytes; zero it after use. */
  shard: Uint8Array;
}

export function formatShard(id: number, shard: Uint8Array): string {
  return `spike:${id}:${Buffer.from(shard.buffer, shard.byteOffset, shard.byteLength).toString('hex')}`;
}

/** Parse `spike:<index>:<hex>` (surrounding whitespace ignored, hex case-insensitive). */
export function parseShard(text: string): ParsedShard {
  const parts = text.trim().split(':');
  const hint = "expected 'spike:<index>:<64 hex characters>', as in a spike.recovery.<index>.txt file";
  if (parts.length !== 3 || parts[0] !== 'spike') throw invalidInput(`Invalid recovery share: ${hint}.`);
  const [, index = '', hex = ''] = parts;
  if (!/^[0-9]{1,4}$/.test(index) || Number(index) < 1 || Number(index) > MAX_SHARE_INDEX) {
    throw invalidInput(`Invalid recovery share: the index must be a number from 1 to ${MAX_SHARE_INDEX}.`);
  }
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== SHARD_SIZE * 2) {
    throw invalidInput(`Invalid recovery share: the share must be exactly ${SHARD_SIZE * 2} hex characters.`);
  }
  const shard = new Uint8Array(Buffer.from(hex, 'hex'));
  if (shard.every((b) => b === 0)) {
    throw invalidInput('Invalid recovery share: the share is all zeros.');
  }
  return { id: Number(index), shard };
}
