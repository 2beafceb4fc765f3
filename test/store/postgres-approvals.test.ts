/**
 * Multi-party approval on PostgreSQL with two Nexus replicas on one database (ADR 0042): a private
 * cluster, two in-process Nexus instances each with its own PostgreSQL store (pool) and the same
 * root key, people approving on the first replica's people listener. A rule added on one replica
 * is enforced by the other at the next request; a request filed on one is approved and used
 * through the other; and when the two race to use one grant, exactly one read succeeds, every
 * time. The requests in the database are sealed: no reason and no path in the rows.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from '@spike-ts/core';
import { startTestIssuer, type TestIssuer } from '@spike-ts/nexus/testing';
import { openPostgresStore } from '@spike-ts/store';
import {
  preparedDatabase,
  socketConnection,
  startTestCluster,
  type TestCluster,
} from '@spike-ts/store/testing';
import {
  ID,
  call,
  client,
  createPki,
  startNexus,
  type Pki,
  type Reply,
  type TestNexus,
} from '../nexus/harness.ts';
import { peopleListenerEnv } from '../nexus/people-listener-env.ts';

const A = '/v1/approvals?action=';
const GET = '/v1/store/secrets?action=get';
const REASON = 'break-glass read during the outage (INC-90210)';

let cluster: TestCluster;
let database: string;
let pki: Pki;
let idp: TestIssuer;
let dir: string;
const replicas: TestNexus[] = [];

const alice = { preferred_username: 'alice', groups: ['infra'] };
const bob = { preferred_username: 'bob', groups: ['infra'] };

async function asPerson(path: string, body: unknown, who: typeof alice): Promise<Reply> {
  const port = replicas[0]?.nexus.peopleAddress()?.port ?? 0;
  return call(port, pki, {
    path,
    body,
    client: null,
    headers: { authorization: `Bearer ${await idp.token(who)}` },
  });
}
async function as(i: number, path: string, body: unknown, id: string = ID.reader): Promise<Reply> {
  const t = replicas[i] as TestNexus;
  return client(t, pki)({ path, body, client: await pki.cert(id) });
}
function ok(r: Reply, what: string): Record<string, unknown> {
  assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
  return r.json();
}
const requestOf = (r: Reply, what: string) => ok(r, what)['request'] as { id: string; status: string };

before(async () => {
  cluster = await startTestCluster();
  database = await preparedDatabase(cluster);
  pki = await createPki();
  idp = await startTestIssuer();
  dir = await mkdtemp(join(tmpdir(), 'spx-pg-approvals-'));
  const peopleEnv = await peopleListenerEnv(pki, dir, [
    { issuer: idp.issuer, audience: 'spike-nexus', algorithms: ['RS256'] },
  ]);
  const rootKey = randomBytes(32);
  for (let i = 0; i < 2; i++) {
    const store = await openPostgresStore({
      connection: socketConnection(cluster, cluster.runtimeRole, database),
      schema: 'check',
    });
    replicas.push(
      await startNexus(pki, {
        store,
        rootKey: new Uint8Array(rootKey),
        env: {
          SPIKE_NEXUS_API_THREADS: '1',
          ...(i === 0
            ? {
                ...peopleEnv,
              }
            : {}),
        },
      }),
    );
  }
  rootKey.fill(0);
  ok(
    await as(
      0,
      '/v1/store/secrets',
      { path: 'cloud/master', values: { key: 'pg-cloud-secret' } },
      ID.superuser,
    ),
    'put',
  );
  ok(
    await as(
      0,
      '/v1/acl/policy',
      {
        name: 'reader-cloud',
        spiffeidPattern: '^spiffe://spike\\.ist/workload/reader$',
        pathPattern: '^cloud/.*$',
        permissions: ['read'],
      },
      ID.superuser,
    ),
    'policy',
  );
});
after(async () => {
  for (const r of replicas) await r.close();
  await idp?.close();
  await cluster?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('multi-party approval across PostgreSQL replicas', () => {
  it('a rule added on one replica is enforced by the other at the next request', async () => {
    ok(await as(1, GET, { path: 'cloud/master' }), 'before the rule');
    ok(
      await as(
        0,
        '/v1/acl/policy',
        {
          name: 'cloud-approval',
          spiffeidPattern: '',
          pathPattern: '^cloud/.*$',
          permissions: ['read'],
          approval: { required: 2, approverGroups: ['infra'] },
        },
        ID.superuser,
      ),
      'rule',
    );
    const r = await as(1, GET, { path: 'cloud/master' });
    assert.equal(r.status, 403, r.text);
    assert.deepEqual(r.json(), { data: null, err: 'approval_required' });
  });

  it('a request filed on one replica is approved there and used through the other, once', async () => {
    const filed = requestOf(
      await as(1, `${A}request`, { operation: 'read', target: 'cloud/master', reason: REASON }),
      'file',
    );
    requestOf(await asPerson(`${A}approve`, { id: filed.id }, alice), 'alice');
    assert.equal(requestOf(await asPerson(`${A}approve`, { id: filed.id }, bob), 'bob').status, 'approved');
    assert.deepEqual(ok(await as(1, GET, { path: 'cloud/master' }), 'read'), {
      data: { key: 'pg-cloud-secret' },
    });
    assert.equal((await as(0, GET, { path: 'cloud/master' })).status, 403);
    assert.equal((await as(1, GET, { path: 'cloud/master' })).status, 403);
    assert.equal(requestOf(await as(0, `${A}get`, { id: filed.id }), 'get').status, 'used');
  });

  it('two replicas racing to use one grant: exactly one read succeeds, every round', async () => {
    for (let round = 0; round < 5; round++) {
      const filed = requestOf(
        await as(round % 2, `${A}request`, { operation: 'read', target: 'cloud/master', reason: REASON }),
        'file',
      );
      requestOf(await asPerson(`${A}approve`, { id: filed.id }, alice), 'alice');
      requestOf(await asPerson(`${A}approve`, { id: filed.id }, bob), 'bob');
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => as(i % 2, GET, { path: 'cloud/master' })),
      );
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, 403, 403, 403, 403, 403, 403, 403], `round ${String(round)}`);
      for (const a of answers.filter((x) => x.status === 403))
        assert.equal(a.json()['err'], 'approval_required');
      const used = replicas
        .flatMap((t) => t.audit.records())
        .filter((rec) => rec.approval === filed.id && rec.approvalStatus === 'used');
      assert.equal(used.length, 1, `round ${String(round)}: one audited use`);
    }
  });

  it('keeps the requests sealed in the database: no reason, no path, no requester in the rows', async () => {
    const rows = await cluster.superuser<{ envelope: Uint8Array }>(
      'SELECT envelope FROM spike.secret_versions',
      [],
      database,
    );
    assert.ok(rows.rows.length >= 2);
    for (const row of rows.rows) {
      const bytes = Buffer.from(row.envelope);
      for (const clear of ['INC-90210', 'cloud/master', 'workload/reader', 'user:alice', 'spike:approvals']) {
        assert.equal(bytes.includes(clear), false, clear);
      }
    }
  });
});
