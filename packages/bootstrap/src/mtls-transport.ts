/**
 * Bootstrap's network over SPIFFE mTLS (the shared `createMtlsPost`): keepers must present a
 * Keeper SVID, Nexus a Nexus SVID.
 */
import { createMtlsPost } from '@spike-ts/http';
import { isKeeper, isNexus, type TrustRoots, type X509Source } from '@spike-ts/identity';
import type { BootstrapTransport } from './transport.ts';

export function createMtlsTransport(source: X509Source, trustRoots: TrustRoots): BootstrapTransport {
  const keepers = createMtlsPost(source, { authorizeServer: (id) => isKeeper(id.toString(), trustRoots) });
  const nexus = createMtlsPost(source, { authorizeServer: (id) => isNexus(id.toString(), trustRoots) });
  return {
    postKeeper: (url, body, timeoutMs) => keepers.post(url, body, timeoutMs),
    postNexus: (url, body, timeoutMs) => nexus.post(url, body, timeoutMs),
    close() {
      keepers.close();
      nexus.close();
      return Promise.resolve();
    },
  };
}
