/**
 * Bootstrap's network over SPIFFE mTLS: keepers must present a Keeper SVID, Nexus a Nexus SVID.
 */
import { createMtlsClient, isKeeper, isNexus, type TrustRoots, type X509Source } from '@spike-ts/identity';
import type { BootstrapTransport, Post } from './transport.ts';

export function createMtlsTransport(source: X509Source, trustRoots: TrustRoots): BootstrapTransport {
  const keepers = createMtlsClient(source, { authorizeServer: (id) => isKeeper(id.toString(), trustRoots) });
  const nexus = createMtlsClient(source, { authorizeServer: (id) => isNexus(id.toString(), trustRoots) });
  const post =
    (client: typeof keepers): Post =>
    async (url, body, timeoutMs) => {
      const res = await client.request(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        timeoutMs,
      });
      return { status: res.status, body: res.body };
    };
  return {
    postKeeper: post(keepers),
    postNexus: post(nexus),
    close() {
      keepers.close();
      nexus.close();
      return Promise.resolve();
    },
  };
}
