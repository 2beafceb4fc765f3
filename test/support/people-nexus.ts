/**
 * A real `spike-nexus` process with its people listener, for the suites that test people against
 * Keycloak: the dev identity issuer for SVIDs, a server certificate for `localhost` from a private
 * CA on the people listener, Keycloak as the one trusted OIDC issuer (`admins` and `auditors` as
 * the admin and auditor groups), SQLite in the given directory, unlocked with two of three shares
 * of a fresh root key (no keepers needed for that).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateRootKey, shardToJson, splitRootKey } from '@spike-ts/core';
import { startDevIssuer, type DevIssuer } from '@spike-ts/dev-identity';
import { createCa, issueSvid } from '@spike-ts/identity/mint';
import { call, type ClientCert, type Pki } from '../nexus/harness.ts';
import {
  NEXUS_BIN,
  certFromIssuer,
  issuerTrust,
  launch,
  waitForPort,
  type Child,
} from '../nexus/processes.ts';
import { AUDIENCE, type Keycloak } from './keycloak.ts';

export interface PeopleNexus {
  readonly issuer: DevIssuer;
  readonly nexus: Child;
  /** Trust for the mTLS port (the issuer's bundle). */
  readonly trust: Pki;
  /** Trust for the people listener (its private CA). */
  readonly peopleTrust: Pki;
  /** The mTLS API port and the people listener's port. */
  readonly port: number;
  readonly peoplePort: number;
  /** The private CA of the people listener's certificate, as a PEM file. */
  readonly peopleCaFile: string;
  /** The Nexus audit log. */
  readonly auditLog: string;
  /** A client certificate per identity asked for (always `pilot` and `pilot-restore`). */
  readonly certs: Readonly<Record<string, ClientCert>>;
  /** A request as the Pilot superuser over mTLS that must answer 200. */
  readonly putAsPilot: (path: string, body: unknown) => Promise<void>;
}

export interface PeopleNexusOptions {
  /** A fresh directory for the issuer, the certificates, the data and the audit log (the caller removes it). */
  readonly dir: string;
  readonly keycloak: Keycloak;
  /** More dev identities to fetch certificates for (e.g. `demo`). */
  readonly identities?: readonly string[];
  /** More `SPIKE_*` settings for Nexus (e.g. `SPIKE_NEXUS_API_THREADS`). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts it; stop with `killAll()` (processes.ts) and `issuer.close()`. */
export async function startPeopleNexus(options: PeopleNexusOptions): Promise<PeopleNexus> {
  const { dir, keycloak } = options;
  const issuer = await startDevIssuer({ stateDir: join(dir, 'state'), socketDir: join(dir, 's'), env: {} });
  const trust = issuerTrust(issuer);
  const certs: Record<string, ClientCert> = {};
  for (const name of new Set(['pilot', 'pilot-restore', ...(options.identities ?? [])])) {
    certs[name] = await certFromIssuer(issuer, name);
  }

  const ca = await createCa({ trustDomain: 'people.test' });
  const server = await issueSvid(ca, { spiffeId: 'spiffe://people.test/nexus', dnsNames: ['localhost'] });
  const peopleCaFile = join(dir, 'people-ca.pem');
  await writeFile(join(dir, 'people-cert.pem'), server.certPem);
  await writeFile(join(dir, 'people-key.pem'), server.keyPem);
  await writeFile(peopleCaFile, ca.certPem);
  await writeFile(
    join(dir, 'oidc.json'),
    JSON.stringify({
      issuers: [
        {
          issuer: keycloak.issuer,
          audience: AUDIENCE,
          algorithms: ['RS256'],
          adminGroups: ['admins'],
          auditorGroups: ['auditors'],
        },
      ],
    }),
  );
  const auditLog = join(dir, 'audit.log');
  const nexus = launch(NEXUS_BIN, {
    SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('nexus'),
    SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
    SPIKE_NEXUS_HEALTH_ADDR: 'off',
    SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
    SPIKE_NEXUS_DATA_DIR: join(dir, 'nexus'),
    SPIKE_NEXUS_KEEPER_PEERS: 'https://127.0.0.1:9,https://127.0.0.1:10,https://127.0.0.1:11',
    SPIKE_NEXUS_AUDIT_LOG: auditLog,
    SPIKE_NEXUS_PEOPLE_LISTEN: '127.0.0.1:0',
    SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE: join(dir, 'people-cert.pem'),
    SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE: join(dir, 'people-key.pem'),
    SPIKE_NEXUS_OIDC_CONFIG: join(dir, 'oidc.json'),
    SPIKE_SYSTEM_LOG_LEVEL: 'warn',
    HOME: dir,
    ...options.env,
  });
  const port = await waitForPort(nexus);
  const people = /people on [^\s]*:(\d+)\)/.exec(nexus.output());
  assert.ok(people !== null, nexus.output());

  const shares = splitRootKey(generateRootKey(), 2, 3);
  for (const share of shares.slice(0, 2)) {
    const r = await call(port, trust, {
      path: '/v1/operator/restore',
      body: { id: share.id, shard: shardToJson(share.value) },
      client: certs['pilot-restore'] as ClientCert,
    });
    assert.equal(r.status, 200, r.text);
  }

  return {
    issuer,
    nexus,
    trust,
    peopleTrust: { ...trust, caPem: ca.certPem },
    port,
    peoplePort: Number(people[1]),
    peopleCaFile,
    auditLog,
    certs,
    putAsPilot: async (path, body) => {
      const r = await call(port, trust, { path, body, client: certs.pilot as ClientCert });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
    },
  };
}
