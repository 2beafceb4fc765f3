/**
 * The keeper over real SPIFFE mTLS on loopback: TLS-level peer rules, route rules and the wire
 * format as SPIKE's Go Nexus and Bootstrap see it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@spike-ts/core';
import {
  MtlsConnectionError,
  createMtlsClient,
  createStaticX509Source,
  isKeeper,
  trustRootsFromEnv,
  type MtlsClient,
  type X509Bundles,
} from '@spike-ts/identity';
import { bundlesFromCas, createCa, issueSvid, svidFromMinted, type MintedCa } from '@spike-ts/identity/mint';
import { createKeeperServer, KeeperIdentityError, type KeeperServer } from './keeper-server.ts';

const TD = 'spike.ist';
const ROOTS = trustRootsFromEnv({});
const IDS = {
  nexus: `spiffe://${TD}/spike/nexus`,
  bootstrap: `spiffe://${TD}/spike/bootstrap`,
  superuser: `spiffe://${TD}/spike/pilot/role/superuser`,
  workload: `spiffe://${TD}/workload/demo`,
  otherTd: 'spiffe://other.td/spike/nexus',
};

let ca: MintedCa;
let foreign: MintedCa;
let bundles: X509Bundles;
let keeper: KeeperServer;
let base = '';
const clients = new Map<string, MtlsClient>();
const cleanups: (() => unknown)[] = [];

async function clientFor(id: string, from: MintedCa = ca): Promise<MtlsClient> {
  const svid = await issueSvid(from, { spiffeId: id });
  const source = createStaticX509Source(svidFromMinted(svid), bundles);
  const client = createMtlsClient(source, {
    authorizeServer: (sid) => isKeeper(sid, ROOTS),
    timeoutMs: 5000,
  });
  cleanups.push(
    () => client.close(),
    () => source.close(),
  );
  return client;
}

before(async () => {
  ca = await createCa({ trustDomain: TD });
  foreign = await createCa({ trustDomain: 'other.td' });
  bundles = bundlesFromCas([ca, foreign]); // the keeper trusts both trust domains' roots
  const keeperSvid = await issueSvid(ca, { spiffeId: `spiffe://${TD}/spike/keeper/k1` });
  const source = createStaticX509Source(svidFromMinted(keeperSvid), bundles);
  cleanups.push(() => source.close());
  keeper = createKeeperServer({ source, trustRoots: ROOTS, logger: silentLogger });
  const addr = await keeper.listen(0, '127.0.0.1');
  base = `https://127.0.0.1:${addr.port}`;
  for (const [role, id] of Object.entries(IDS)) {
    clients.set(role, await clientFor(id, role === 'otherTd' ? foreign : ca));
  }
});

after(async () => {
  await keeper.close();
  for (const c of cleanups.reverse()) await c();
});

function post(role: string, path: string, body: string, method = 'POST') {
  const client = clients.get(role);
  assert.ok(client, role);
  return client.request(base + path, { method, body, headers: { 'Content-Type': 'application/json' } });
}

async function heldShard(): Promise<number[]> {
  const res = await post('nexus', '/v1/store/shard', '{}');
  return (JSON.parse(res.body.toString()) as { shard: number[] }).shard;
}

const shard = (seed: number): number[] => Array.from({ length: 32 }, (_, i) => (seed + i * 5) % 256);

describe('keeper over mTLS', () => {
  it('refuses to start without a keeper SVID', async () => {
    const svid = await issueSvid(ca, { spiffeId: IDS.nexus });
    const source = createStaticX509Source(svidFromMinted(svid), bundles);
    assert.throws(
      () => createKeeperServer({ source, trustRoots: ROOTS, logger: silentLogger }),
      (err: unknown) => err instanceof KeeperIdentityError && /not a SPIKE Keeper ID/.test(err.message),
    );
    await source.close();
  });

  it('an empty keeper answers 400 {"shard":null,"Err":"api_bad_request"}', async () => {
    keeper.holder.clear();
    const res = await post('nexus', '/v1/store/shard', '{}');
    assert.equal(res.status, 400);
    assert.equal(res.body.toString(), '{"shard":null,"Err":"api_bad_request"}');
  });

  it('contribute / shard round trip', async () => {
    const c = await post('nexus', '/v1/store/contribute', JSON.stringify({ shard: shard(1) }));
    assert.equal(c.status, 200);
    assert.equal(c.body.toString(), '{}');
    const s = await post('nexus', '/v1/store/shard', '{}');
    assert.equal(s.status, 200);
    assert.deepEqual(JSON.parse(s.body.toString()), { shard: shard(1), Err: '' });
  });

  it('role matrix: nexus reads and writes, bootstrap only writes, everyone else is cut at the TLS level', async () => {
    assert.equal(
      (await post('bootstrap', '/v1/store/contribute', JSON.stringify({ shard: shard(2) }))).status,
      200,
    );
    const denied = await post('bootstrap', '/v1/store/shard', '{}');
    assert.equal(denied.status, 401);
    assert.equal(denied.body.toString(), '{"shard":null,"Err":"access_unauthorized"}');
    assert.deepEqual(await heldShard(), shard(2));

    for (const role of ['superuser', 'workload', 'otherTd']) {
      for (const path of ['/v1/store/contribute', '/v1/store/shard']) {
        await assert.rejects(
          post(role, path, JSON.stringify({ shard: shard(3) })),
          (err: unknown) => err instanceof MtlsConnectionError,
          `${role} ${path}`,
        );
      }
    }
    // nothing they sent reached the keeper
    assert.deepEqual(await heldShard(), shard(2));
  });

  it('rejects zero and malformed shards and non-POST methods with 400', async () => {
    await post('nexus', '/v1/store/contribute', JSON.stringify({ shard: shard(4) }));
    for (const body of [
      JSON.stringify({ shard: new Array(32).fill(0) }),
      JSON.stringify({ shard: shard(1).slice(1) }),
      JSON.stringify({ shard: null }),
      'not json',
    ]) {
      const res = await post('bootstrap', '/v1/store/contribute', body);
      assert.equal(res.status, 400, body);
      assert.equal(res.body.toString(), '{"err":"api_bad_request"}');
    }
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await post('nexus', '/v1/store/shard', '', method);
      assert.equal(res.status, 400, method);
      assert.equal(res.body.toString(), '{"err":"api_bad_request"}');
    }
    assert.deepEqual(await heldShard(), shard(4));
  });

  it('close() zeroes the share', async () => {
    await post('nexus', '/v1/store/contribute', JSON.stringify({ shard: shard(5) }));
    assert.equal(keeper.holder.hasShard(), true);
    await keeper.close();
    assert.equal(keeper.holder.hasShard(), false);
  });
});
