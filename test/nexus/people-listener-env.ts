/**
 * The people listener of a test Nexus: a server certificate from the test CA for `localhost`,
 * an OIDC file trusting the given issuers, and the settings that turn the listener on with them
 * (on a free port). Written into `dir`, which the test removes.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueSvid } from '@spike-ts/identity/mint';
import type { Pki } from './harness.ts';

/** The OIDC file's entry for a test issuer: audience `spike-nexus`, RS256, groups `admins`, `auditors`. */
export function testIssuerEntry(issuer: string): Record<string, unknown> {
  return {
    issuer,
    audience: 'spike-nexus',
    algorithms: ['RS256'],
    adminGroups: ['admins'],
    auditorGroups: ['auditors'],
  };
}

export async function peopleListenerEnv(
  pki: Pki,
  dir: string,
  issuers: readonly Record<string, unknown>[],
): Promise<Record<string, string>> {
  const server = await issueSvid(pki.ca, {
    spiffeId: 'spiffe://spike.ist/people-listener',
    dnsNames: ['localhost'],
  });
  await writeFile(join(dir, 'cert.pem'), server.certPem);
  await writeFile(join(dir, 'key.pem'), server.keyPem);
  await writeFile(join(dir, 'oidc.json'), JSON.stringify({ issuers }));
  return {
    SPIKE_NEXUS_PEOPLE_LISTEN: '127.0.0.1:0',
    SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE: join(dir, 'cert.pem'),
    SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE: join(dir, 'key.pem'),
    SPIKE_NEXUS_OIDC_CONFIG: join(dir, 'oidc.json'),
  };
}
