/**
 * A real Nexus with the people listener and the web console for the console's suites: memory
 * backend, its audit in a file (the audit view reads it back), a self-signed server certificate
 * for 127.0.0.1 made with the `openssl` CLI, and the OIDC configuration file with a `console`
 * block. The people listener's port is chosen before start, because the console's public base URL
 * (and so its redirect URIs) names it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../../scripts/free-ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@spike-ts/core';
import { createStaticX509Source } from '@spike-ts/identity';
import { bundlesFromCas, issueSvid, svidFromMinted } from '@spike-ts/identity/mint';
import { createNexus, loadConfig, type Nexus } from '@spike-ts/nexus';
import { createMemoryStore } from '@spike-ts/store';
import { call, createPki, ID, type Pki } from '../nexus/harness.ts';

export { freePort };

/** A self-signed server certificate for 127.0.0.1 (clients of the tests accept it explicitly). */
export function serverCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'people.crt');
  const key = join(dir, 'people.key');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `openssl: ${r.stderr}`);
  return { cert, key };
}

export interface ConsoleNexusOptions {
  /** The issuer the people listener trusts and the console logs in with. */
  readonly issuer: string;
  readonly clientId: string;
  /** Written to a 0600 file named in `console.clientSecretFile`; undefined = a public client. */
  readonly clientSecret?: string;
  /** Put into the configuration as given (e.g. a missing file), instead of writing the secret. */
  readonly clientSecretFile?: string;
  readonly adminGroups?: readonly string[];
  readonly auditorGroups?: readonly string[];
  /** Called with the public base URL before Nexus starts (e.g. to register redirect URIs). */
  readonly beforeStart?: (base: string) => Promise<void>;
}

export interface ConsoleNexus {
  readonly nexus: Nexus;
  /** `https://127.0.0.1:<people port>` */
  readonly base: string;
  readonly pki: Pki;
  /** Nexus's operational log lines (the console's among them). */
  readonly logs: string[];
  /** Every audit record so far. */
  auditRecords(): Record<string, unknown>[];
  /** An API call as the Pilot superuser over mTLS; asserts 200 and returns the body. */
  superuser(path: string, body: unknown): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startConsoleNexus(options: ConsoleNexusOptions): Promise<ConsoleNexus> {
  const dir = mkdtempSync(join(tmpdir(), 'spike-console-nexus-'));
  const { cert, key } = serverCertificate(dir);
  const port = await freePort();
  const base = `https://127.0.0.1:${port}`;
  let secretFile = options.clientSecretFile;
  if (secretFile === undefined && options.clientSecret !== undefined) {
    secretFile = join(dir, 'console-secret');
    writeFileSync(secretFile, `${options.clientSecret}\n`, { mode: 0o600 });
  }
  writeFileSync(
    join(dir, 'oidc.json'),
    JSON.stringify({
      issuers: [
        {
          issuer: options.issuer,
          audience: 'spike-nexus',
          adminGroups: options.adminGroups ?? ['admins'],
          auditorGroups: options.auditorGroups ?? ['auditors'],
        },
      ],
      console: {
        issuer: options.issuer,
        clientId: options.clientId,
        ...(secretFile === undefined ? {} : { clientSecretFile: secretFile }),
        publicBaseUrl: base,
      },
    }),
  );
  await options.beforeStart?.(base);
  const auditFile = join(dir, 'audit.log');
  const config = loadConfig(
    {
      SPIKE_NEXUS_BACKEND_STORE: 'memory',
      SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
      SPIKE_NEXUS_HEALTH_ADDR: 'off',
      SPIKE_NEXUS_AUDIT_LOG: auditFile,
      SPIKE_NEXUS_PEOPLE_LISTEN: `127.0.0.1:${port}`,
      SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE: cert,
      SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE: key,
      SPIKE_NEXUS_OIDC_CONFIG: join(dir, 'oidc.json'),
    },
    { homeDir: tmpdir() },
  );
  const pki = await createPki();
  const svid = await issueSvid(pki.ca, { spiffeId: ID.nexus });
  const source = createStaticX509Source(svidFromMinted(svid), bundlesFromCas([pki.ca]));
  const logs: string[] = [];
  const logger = createLogger({
    level: 'info',
    sink: (line) => void logs.push(line),
    base: { component: 'nexus' },
  });
  let nexus: Nexus;
  try {
    nexus = await createNexus(config, { source, logger, store: createMemoryStore() });
  } catch (err) {
    await source.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const { port: mtlsPort } = await nexus.listen();
  return {
    nexus,
    base,
    pki,
    logs,
    auditRecords: () =>
      readFileSync(auditFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async superuser(path, body) {
      const r = await call(mtlsPort, pki, { path, body, client: await pki.cert(ID.superuser) });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      return r.json();
    },
    async close() {
      await nexus.close();
      await source.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
