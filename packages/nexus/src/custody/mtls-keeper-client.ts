/**
 * The production keeper client: SPIFFE mTLS (the shared `createMtlsPost`), and keepers must
 * present a Keeper SVID.
 */
import type { Logger } from '@spike-ts/core';
import { createMtlsPost } from '@spike-ts/http';
import { isKeeper, type TrustRoots, type X509Source } from '@spike-ts/identity';
import { createKeeperClientWith, type KeeperClient } from './keeper-client.ts';

export interface MtlsKeeperClientOptions {
  readonly source: X509Source;
  readonly trustRoots: TrustRoots;
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/** The production client: SPIFFE mTLS, keepers must present a Keeper SVID. */
export function createKeeperClient(options: MtlsKeeperClientOptions): KeeperClient {
  const keepers = createMtlsPost(options.source, {
    authorizeServer: (id) => isKeeper(id.toString(), options.trustRoots),
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  const inner = createKeeperClientWith((url, body) => keepers.post(url, body), options.logger);
  return {
    fetchShard: (url) => inner.fetchShard(url),
    contribute: (url, shard) => inner.contribute(url, shard),
    close() {
      keepers.close();
      return Promise.resolve();
    },
  };
}
