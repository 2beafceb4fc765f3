/**
 * @module test-pki
 * Throwaway SPIFFE PKI for client tests: one CA for `spike.ist` and SVIDs for the SPIKE roles.
 * Test-only; never exported from the package entry.
 */
import { createStaticX509Source } from '@spike-ts/identity';
import type { StaticX509Source } from '@spike-ts/identity';
import { bundlesFromCas, createCa, issueSvid, svidFromMinted } from '@spike-ts/identity/mint';
import type { MintedCa, MintedSvid } from '@spike-ts/identity/mint';

export const TEST_IDS = {
  nexus: 'spiffe://spike.ist/spike/nexus',
  superuser: 'spiffe://spike.ist/spike/pilot/role/superuser',
  recover: 'spiffe://spike.ist/spike/pilot/role/recover',
  restore: 'spiffe://spike.ist/spike/pilot/role/restore',
  stranger: 'spiffe://spike.ist/workload/stranger',
} as const;
export type TestIdentity = keyof typeof TEST_IDS;

export interface TestPki {
  readonly ca: MintedCa;
  readonly svids: Readonly<Record<TestIdentity, MintedSvid>>;
  /** A static X509Source presenting the given identity. */
  sourceFor(who: TestIdentity): StaticX509Source;
  /** TLS material for a fake server presenting `who` (default the Nexus SVID). */
  serverTls(who?: TestIdentity): { keyPem: string; certPem: string; caPem: string };
}

export async function createTestPki(trustDomain = 'spike.ist'): Promise<TestPki> {
  const ca = await createCa({ trustDomain });
  const entries = await Promise.all(
    (Object.keys(TEST_IDS) as TestIdentity[]).map(async (who) => {
      const id = TEST_IDS[who].replace('spiffe://spike.ist', `spiffe://${trustDomain}`);
      return [who, await issueSvid(ca, { spiffeId: id })] as const;
    }),
  );
  const svids = Object.fromEntries(entries) as Record<TestIdentity, MintedSvid>;
  return {
    ca,
    svids,
    sourceFor: (who) => createStaticX509Source(svidFromMinted(svids[who]), bundlesFromCas([ca])),
    serverTls: (who = 'nexus') => ({
      keyPem: svids[who].keyPem,
      certPem: svidFromMinted(svids[who]).certChainPem,
      caPem: ca.certPem,
    }),
  };
}
