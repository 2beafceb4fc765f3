/**
 * Nexus's client for the keeper API (SPIKE wire format) over any POST transport; the SPIFFE mTLS
 * transport is in `mtls-keeper-client.ts`. Shares travel as Buffers that are zeroed after use.
 */
import { constantTimeEqual, type Logger } from '@spike-ts/core';
import type { PostResult } from '@spike-ts/http';
import {
  encodeShardBody,
  joinUrl,
  SHARD_SIZE,
  URL_KEEPER_CONTRIBUTE,
  URL_KEEPER_SHARD,
} from '@spike-ts/protocol';

export type FetchShardResult =
  { readonly kind: 'shard'; readonly shard: Uint8Array } | { readonly kind: 'empty' };

export interface KeeperClient {
  /** `POST /v1/store/shard {}`. The caller zeroes the returned shard. Throws `KeeperRequestError`. */
  fetchShard(keeperUrl: string): Promise<FetchShardResult>;
  /** `POST /v1/store/contribute {"shard":[...]}`. Throws `KeeperRequestError`. */
  contribute(keeperUrl: string, shard: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** A keeper call that did not succeed; the message never contains share bytes. */
export class KeeperRequestError extends Error {
  override readonly name = 'KeeperRequestError';
  readonly keeperUrl: string;
  /** HTTP status, or undefined when no answer arrived. */
  readonly status: number | undefined;
  constructor(keeperUrl: string, message: string, status?: number, options?: { cause?: unknown }) {
    super(`keeper ${keeperUrl}: ${message}`, options);
    this.keeperUrl = keeperUrl;
    this.status = status;
  }
}

/** Low-level POST, so tests can substitute the network. Rejects when no answer arrived. */
export type KeeperPost = (url: string, body: Uint8Array) => Promise<PostResult>;

function parseShardResponse(body: Buffer): Uint8Array | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const arr = (parsed as { shard?: unknown } | null)?.shard;
  if (!Array.isArray(arr) || arr.length !== SHARD_SIZE) return undefined;
  const shard = new Uint8Array(SHARD_SIZE);
  for (let i = 0; i < SHARD_SIZE; i++) {
    const v: unknown = arr[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
      shard.fill(0);
      return undefined;
    }
    shard[i] = v;
  }
  arr.fill(0);
  return shard;
}

const ZERO_SHARD = new Uint8Array(SHARD_SIZE);

export function createKeeperClientWith(post: KeeperPost, logger?: Logger): KeeperClient {
  return {
    async fetchShard(base) {
      let res;
      try {
        res = await post(joinUrl(base, URL_KEEPER_SHARD), Buffer.from('{}'));
      } catch (err) {
        throw new KeeperRequestError(base, `unreachable (${(err as Error).message})`, undefined, {
          cause: err,
        });
      }
      try {
        // SPIKE keepers answer 400 (older ones 404) with a null shard when they hold none.
        if (res.status === 400 || res.status === 404) return { kind: 'empty' };
        if (res.status !== 200) throw new KeeperRequestError(base, `answered HTTP ${res.status}`, res.status);
        const shard = parseShardResponse(res.body);
        if (shard === undefined)
          throw new KeeperRequestError(base, 'answered with a malformed shard', res.status);
        if (constantTimeEqual(shard, ZERO_SHARD)) return { kind: 'empty' };
        return { kind: 'shard', shard };
      } finally {
        res.body.fill(0);
      }
    },
    async contribute(base, shard) {
      const body = encodeShardBody(shard);
      let status: number;
      try {
        const res = await post(joinUrl(base, URL_KEEPER_CONTRIBUTE), body);
        status = res.status;
        res.body.fill(0);
      } catch (err) {
        throw new KeeperRequestError(base, `unreachable (${(err as Error).message})`, undefined, {
          cause: err,
        });
      } finally {
        body.fill(0);
      }
      if (status !== 200) throw new KeeperRequestError(base, `refused the share (HTTP ${status})`, status);
      logger?.debug('share pushed to keeper', { keeper: base });
    },
    close: () => Promise.resolve(),
  };
}
