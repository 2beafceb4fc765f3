/**
 * TLS to PostgreSQL: a private cluster that accepts TCP connections with TLS only (`hostssl`),
 * with a server certificate for 127.0.0.1 signed by a test CA (made with the `openssl` CLI).
 * Checks what each `sslMode` accepts and refuses.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openPostgresStore, PostgresTlsConfigError, type PostgresConnection } from '@spike-ts/store';
import { preparedDatabase, startTestCluster, type TestCluster } from '@spike-ts/store/testing';

let dir: string;
let cluster: TestCluster;
let database: string;

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A CA named `name` (self-signed, EC P-256). */
function makeCa(name: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
    '-out',
    `${name}.crt`,
  ]);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spx-pgtls-'));
  makeCa('ca');
  makeCa('other-ca');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key']);
  openssl(['req', '-new', '-key', 'server.key', '-subj', '/CN=postgres-test', '-out', 'server.csr']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName = IP:127.0.0.1\n');
  openssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  ]);
  cluster = await startTestCluster({
    tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') },
  });
  database = await preparedDatabase(cluster);
});
after(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function tcp(extra: Partial<PostgresConnection>): PostgresConnection {
  return {
    host: '127.0.0.1',
    port: cluster.port,
    database,
    user: cluster.runtimeRole.name,
    passwordFile: cluster.runtimeRole.passwordFile,
    sslMode: 'verify-full',
    sslRootCert: join(dir, 'ca.crt'),
    ...extra,
  };
}

async function opens(connection: PostgresConnection): Promise<void> {
  const store = await openPostgresStore({ connection, schema: 'check', initializationTimeoutMs: 5_000 });
  try {
    assert.equal(await store.isInitialized(), false);
  } finally {
    await store.close();
  }
}

describe('postgres store: TLS to the database', () => {
  it('verify-full accepts the server whose certificate names the host, under the given CA', async () => {
    await opens(tcp({}));
  });

  it('verify-full refuses a host name the certificate does not name; verify-ca accepts it', async () => {
    await assert.rejects(opens(tcp({ host: 'localhost' })), /Hostname\/IP does not match|altnames/i);
    await opens(tcp({ host: 'localhost', sslMode: 'verify-ca' }));
  });

  it('verify-full and verify-ca refuse a certificate from another CA; require does not check', async () => {
    for (const sslMode of ['verify-full', 'verify-ca'] as const) {
      await assert.rejects(
        opens(tcp({ sslMode, sslRootCert: join(dir, 'other-ca.crt') })),
        /unable to verify|self.signed|certificate/i,
      );
    }
    await opens(tcp({ sslMode: 'require', sslRootCert: join(dir, 'other-ca.crt') }));
  });

  it('without TLS the server (hostssl only) refuses the connection', async () => {
    await assert.rejects(opens(tcp({ sslMode: 'disable' })), /no pg_hba\.conf entry .*no encryption/);
  });

  it('an unreadable CA file is a configuration error naming the file', async () => {
    await assert.rejects(opens(tcp({ sslRootCert: join(dir, 'missing.crt') })), (err: unknown) => {
      assert.ok(err instanceof PostgresTlsConfigError);
      assert.match(err.message, /cannot read the CA file .*missing\.crt: ENOENT/);
      return true;
    });
  });
});
