/**
 * Damaged store rows through the API of an in-process Nexus on a real SQLite file, tampered with
 * from outside while it runs: the listings keep serving (additive `damagedRows` count), the
 * superuser-only damaged-row route lists and removes them (audited), the health listener counts
 * them without naming them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { randomBytes } from '@spike-ts/core';
import { SQLITE_FILE_NAME } from '@spike-ts/store';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

const LIST = '/v1/operator/damaged?action=list';
const REMOVE = '/v1/operator/damaged?action=delete';

function healthGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('damaged store rows through the Nexus API (sqlite)', () => {
  let pki: Pki;
  let t: TestNexus;
  let send: (path: string, body: unknown, as: string) => Promise<Reply>;
  let db: DatabaseSync;

  const flipFirstByteOf = (table: 'policies' | 'secrets', exceptCount: number): Uint8Array => {
    const column = table === 'policies' ? 'name_id' : 'path_id';
    const rows = db.prepare(`SELECT ${column} AS id, envelope FROM ${table} ORDER BY ${column}`).all();
    assert.ok(rows.length > exceptCount);
    const row = rows[0]!;
    const env = Uint8Array.from(row['envelope'] as Uint8Array);
    env[env.length - 1]! ^= 0x01;
    db.prepare(`UPDATE ${table} SET envelope = ? WHERE ${column} = ?`).run(env, row['id'] as Uint8Array);
    return row['id'] as Uint8Array;
  };

  /** Creates read policies on `apps/` for a workload nobody runs (what the damage tests tamper with). */
  const createPolicies = async (...names: string[]): Promise<void> => {
    for (const name of names) {
      const r = await send(
        '/v1/acl/policy',
        {
          name,
          spiffeidPattern: '^spiffe://spike\\.ist/x$',
          pathPattern: '^apps/.*$',
          permissions: ['read'],
        },
        ID.superuser,
      );
      assert.equal(r.status, 200);
    }
  };

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { backend: 'sqlite', rootKey: randomBytes(32) });
    const c = client(t, pki);
    send = async (path, body, as) => c({ path, body, client: await pki.cert(as) });
    for (const p of ['apps/a', 'apps/b', 'apps/c']) {
      const r = await send('/v1/store/secrets', { path: p, values: { k: p } }, ID.superuser);
      assert.equal(r.status, 200);
    }
    await createPolicies('p1', 'p2');
    db = new DatabaseSync(join(t.config.dataDir, SQLITE_FILE_NAME));
  });
  after(async () => {
    db.close();
    await t.close();
  });

  it('a healthy store: no damage, the listings carry no extra field', async () => {
    const keys = await send('/v1/store/secrets?action=list', {}, ID.superuser);
    assert.deepEqual(keys.json(), { keys: ['apps/a', 'apps/b', 'apps/c'] });
    const rows = await send(LIST, {}, ID.superuser);
    assert.equal(rows.status, 200);
    assert.deepEqual(rows.json(), { rows: [] });
  });

  it('damaged rows: listings serve the rest, the route lists them, removal is explicit and audited', async () => {
    const secretId = Buffer.from(flipFirstByteOf('secrets', 1)).toString('hex');
    const policyId = Buffer.from(flipFirstByteOf('policies', 1)).toString('hex');

    const keys = await send('/v1/store/secrets?action=list', {}, ID.superuser);
    assert.equal(keys.status, 200);
    const body = keys.json() as { keys: string[]; damagedRows: number; damagedNames?: string[] };
    assert.equal(body.keys.length, 2);
    assert.equal(body.damagedRows, 1);
    assert.equal(body.damagedNames, undefined, 'a flipped byte hides the name');
    const policies = await send('/v1/acl/policy?action=list', {}, ID.superuser);
    assert.equal(policies.status, 200);
    assert.equal((policies.json()['policies'] as unknown[]).length, 1);
    assert.equal(policies.json()['damagedRows'], 1);

    // Health: a count, never a name or an id.
    const health = t.nexus.healthAddress();
    assert.ok(health !== null);
    const ready = await healthGet(health.port, '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body), { ready: true, damagedRows: 2 });

    const listed = await send(LIST, {}, ID.superuser);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json()['rows'], [
      { table: 'policies', id: policyId, kind: 'unreadable' },
      { table: 'secrets', id: secretId, kind: 'unreadable' },
    ]);

    // Only the superuser: no other role, and no policy can grant it.
    for (const as of [ID.stranger, ID.recover, ID.restore, ID.lite, ID.reader, ID.bootstrap]) {
      assert.equal((await send(LIST, {}, as)).status, 401, as);
      assert.equal((await send(REMOVE, { table: 'secrets', id: secretId }, as)).status, 401, as);
    }
    // Malformed requests.
    for (const bad of [
      { table: 'secret_versions', id: secretId },
      { table: 'secret_versions', id: secretId, version: 0 },
      { table: 'secret_versions', id: secretId, version: -1 },
      { table: 'secret_versions', id: secretId, version: 'one' },
      { table: 'secrets', id: secretId, version: 1 },
      { table: 'policies', id: policyId, version: 2 },
      { table: 'versions', id: secretId, version: 1 },
      { table: 'secrets', id: secretId.toUpperCase() },
      { table: 'secrets', id: secretId.slice(2) },
      { table: 'secrets', id: 7 },
      [],
    ]) {
      const r = await send(REMOVE, bad, ID.superuser);
      assert.equal(r.status, 400, JSON.stringify(bad));
    }
    // A healthy row is not removable here.
    const healthyId = db
      .prepare('SELECT path_id FROM secrets WHERE path_id <> ? LIMIT 1')
      .get(Buffer.from(secretId, 'hex'))!['path_id'] as Uint8Array;
    const refused = await send(
      REMOVE,
      { table: 'secrets', id: Buffer.from(healthyId).toString('hex') },
      ID.superuser,
    );
    assert.equal(refused.status, 404);
    // Nor is a healthy version row (and one that is not there at all).
    for (const version of [1, 99]) {
      const healthyVersion = {
        table: 'secret_versions',
        id: Buffer.from(healthyId).toString('hex'),
        version,
      };
      assert.equal((await send(REMOVE, healthyVersion, ID.superuser)).status, 404);
    }

    const removed = await send(REMOVE, { table: 'secrets', id: secretId }, ID.superuser);
    assert.equal(removed.status, 200);
    const record = t.audit.records().at(-1);
    assert.equal(record?.route, '/v1/operator/damaged');
    assert.equal(record?.action, 'delete');
    assert.equal(record?.row, `secrets/${secretId}`);
    assert.equal(record?.caller, ID.superuser);
    assert.equal(record?.decision, 'allowed');
    assert.equal(record?.status, 200);
    assert.ok(t.logs.some((l) => l.includes('damaged row removed by the operator') && l.includes(secretId)));

    assert.equal((await send(REMOVE, { table: 'secrets', id: secretId }, ID.superuser)).status, 404);
    assert.deepEqual(JSON.parse((await healthGet(health.port, '/readyz')).body), {
      ready: true,
      damagedRows: 1,
    });
    assert.equal((await send(REMOVE, { table: 'policies', id: policyId }, ID.superuser)).status, 200);
    assert.deepEqual(JSON.parse((await healthGet(health.port, '/readyz')).body), { ready: true });
    assert.deepEqual((await send(LIST, {}, ID.superuser)).json(), { rows: [] });
    const after = (await send('/v1/store/secrets?action=list', {}, ID.superuser)).json();
    assert.equal((after['keys'] as string[]).length, 2);
    assert.equal(after['damagedRows'], undefined);
  });

  it('swapped policy rows: the policy list names both damaged policies; the health count stays nameless', async () => {
    await createPolicies('swap-x', 'swap-y');
    const rows = db.prepare('SELECT name_id, envelope FROM policies').all();
    assert.equal(rows.length, 3);
    // Swap the two rows just written: find them as the ones the list shows besides the older one.
    const before = (await send('/v1/acl/policy?action=list', {}, ID.superuser)).json();
    assert.equal((before['policies'] as unknown[]).length, 3);
    const update = db.prepare('UPDATE policies SET envelope = ? WHERE name_id = ?');
    // Try each pair until the list reports exactly the two new names as damaged.
    let named: unknown;
    for (let i = 0; i < rows.length && named === undefined; i++) {
      for (let j = i + 1; j < rows.length && named === undefined; j++) {
        const [a, b] = [rows[i]!, rows[j]!];
        update.run(b['envelope'] as Uint8Array, a['name_id'] as Uint8Array);
        update.run(a['envelope'] as Uint8Array, b['name_id'] as Uint8Array);
        const list = (await send('/v1/acl/policy?action=list', {}, ID.superuser)).json();
        assert.equal(list['damagedRows'], 2);
        if (JSON.stringify(list['damagedNames']) === JSON.stringify(['swap-x', 'swap-y'])) {
          named = list['damagedNames'];
        } else {
          update.run(a['envelope'] as Uint8Array, a['name_id'] as Uint8Array);
          update.run(b['envelope'] as Uint8Array, b['name_id'] as Uint8Array);
        }
      }
    }
    assert.deepEqual(named, ['swap-x', 'swap-y']);
    const health = t.nexus.healthAddress();
    assert.ok(health !== null);
    const ready = await healthGet(health.port, '/readyz');
    assert.deepEqual(JSON.parse(ready.body), { ready: true, damagedRows: 2 });
    assert.doesNotMatch(ready.body, /swap/);
  });
});
