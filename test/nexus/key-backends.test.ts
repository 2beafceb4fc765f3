/**
 * Named keys on every store backend (memory, SQLite, PostgreSQL): they need no store function of
 * their own, so the same sealed rows carry them everywhere; a reopened store still verifies and
 * decrypts, and the raw PostgreSQL rows hold no key material in plaintext.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, constants, publicEncrypt } from 'node:crypto';
import { randomBytes, type SecretStore } from '@spike-ts/core';
import { KEY_NAMESPACE, KeyService } from '@spike-ts/nexus';
import { createMemoryStore, createSqliteStore, openPostgresStore } from '@spike-ts/store';
import { asDdlRole, preparedDatabase, socketConnection } from '@spike-ts/store/testing';
import { clusterForFile } from '../store/cluster-for-file.ts';

const message = new TextEncoder().encode('backend check');

interface Backend {
  readonly name: string;
  /** A store over the same data each time it is called (memory: the same store). */
  open(): Promise<SecretStore>;
  /** Every byte the backend keeps at rest, as an attacker with the files or database sees it. */
  raw(): Promise<Buffer>;
  cleanup(): Promise<void>;
}

const cluster = clusterForFile();

async function exercise(b: Backend): Promise<void> {
  let store = await b.open();
  const keys = () => new KeyService({ store, now: Date.now, maxPayload: 4096 });
  await keys().create('b/sign', 'ed25519', undefined);
  await keys().create('b/backup', 'rsa-oaep-3072', undefined);
  const s1 = await keys().sign('p', 'b/sign', message);
  assert.equal(await keys().rotate('b/sign'), 2);
  const s2 = await keys().sign('p', 'b/sign', message);
  await keys().retire('b/sign', [1]);
  const pem = (await keys().describe('b/backup')).versions?.[0]?.publicKeyPem ?? '';
  const ct = publicEncrypt(
    { key: createPublicKey(pem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    Buffer.from('dek'),
  ).toString('base64');
  const stored = await store.getSecret(`${KEY_NAMESPACE}b/sign`);
  const pkcs8Line = (stored?.versions[1]?.data['privateKey'] ?? '').split('\n')[1] ?? '';
  assert.ok(pkcs8Line.length > 20);
  if (b.name !== 'memory') {
    await store.close();
    store = await b.open();
  }
  assert.deepEqual(await keys().verify('b/sign', message, s2.signature), { valid: true, version: 2 });
  assert.deepEqual(await keys().verify('b/sign', message, s1.signature), { valid: false, version: 0 });
  assert.equal(Buffer.from((await keys().decrypt('p', 'b/backup', ct)).plaintext).toString(), 'dek');
  assert.deepEqual(
    (await keys().list()).map((k) => `${k.name}:${String(k.latestVersion)}`),
    ['b/backup:1', 'b/sign:2'],
  );
  await store.close();
  const raw = await b.raw();
  // The sealed rows are there (three RSA/Ed25519 private keys): the check below reads real bytes.
  if (b.name !== 'memory') assert.ok(raw.length > 3000, `${b.name}: ${String(raw.length)} bytes at rest`);
  for (const needle of [pkcs8Line, 'PRIVATE KEY', 'spike:keys', 'ed25519']) {
    assert.equal(raw.includes(Buffer.from(needle)), false, `${b.name} at rest holds ${needle.slice(0, 10)}…`);
  }
}

describe('named keys on every backend', () => {
  it('memory', async () => {
    const store = createMemoryStore();
    await exercise({
      name: 'memory',
      open: () => Promise.resolve(store),
      raw: () => Promise.resolve(Buffer.alloc(0)),
      cleanup: () => Promise.resolve(),
    });
  });

  it('sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spx-kb-'));
    const root = randomBytes(32);
    try {
      await exercise({
        name: 'sqlite',
        async open() {
          const s = createSqliteStore({ dataDir: dir });
          await s.unlock(new Uint8Array(root));
          return s;
        },
        async raw() {
          const { readdirSync, readFileSync } = await import('node:fs');
          return Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
        },
        cleanup: () => Promise.resolve(),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('postgres', async () => {
    const database = await preparedDatabase(cluster);
    const root = randomBytes(32);
    await exercise({
      name: 'postgres',
      async open() {
        const s = await openPostgresStore({
          connection: socketConnection(cluster, cluster.runtimeRole, database),
          schema: 'check',
          pool: { maxConnections: 2 },
        });
        await s.unlock(new Uint8Array(root));
        return s;
      },
      raw: () =>
        asDdlRole(cluster, database, async (client) => {
          const parts: Buffer[] = [];
          for (const table of ['secrets', 'secret_versions', 'policies', 'meta']) {
            const r = await client.query(`SELECT * FROM spike.${table}`);
            for (const row of r.rows as Record<string, unknown>[]) {
              for (const v of Object.values(row)) {
                parts.push(Buffer.isBuffer(v) ? v : Buffer.from(String(v)));
              }
            }
          }
          return Buffer.concat(parts);
        }),
      cleanup: () => Promise.resolve(),
    });
  });
});
