/**
 * The production keeper client: SPIFFE mTLS, and keepers must present a Keeper SVID.
 */
import type { Logger } from '@spike-ts/core';
import { createMtlsClient, isKeeper, type TrustRoots, type X509Source } from '@spike-ts/identity';
import { createKeeperClientWith, type KeeperClient, type KeeperPost } from './keeper-client.ts';

export interface MtlsKeeperClientOptions {
  readonly source: X509Source;
  readonly trustRoots: TrustRoots;
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/** The production client: SPIFFE mTLS, keepers must present a Keeper SVID. */
export function createKeeperClient(options: MtlsKeeperClientOptions): KeeperClient {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const client = createMtlsClient(options.source, {
    authorizeServer: (id) => isKeeper(id.toString(), options.trustRoots),
    keepAlive: true,
    timeoutMs,
  });
  const post: KeeperPost = async (url, body) => {
    const res = await client.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
      timeoutMs,
    });
    return { status: res.status, body: res.body };
  };
  const inner = createKeeperClientWith(post, options.logger);
  return {
    fetchShard: (url) => inner.fetchShard(url),
    contribute: (url, shard) => inner.contribute(url, shard),
    close() {
      client.close();
      return Promise.resolve();
    },
  };
}
