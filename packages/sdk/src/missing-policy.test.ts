/**
 * A missing policy against SPIKE 0.8.2's Nexus, which answers a get or delete of it with 500
 * `api_internal_error` (ours answers 404): the SDK still reports "not found", and only then.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSpikeClient } from './create-spike-client.ts';
import type { SpikeClient } from './spike-client.ts';
import { SpikeInternalError, SpikeNotFoundError } from './spike-error.ts';
import { createTestPki, startFakeNexus } from './testing/index.ts';
import type { FakeNexus, TestPki } from './testing/index.ts';

const POLICY = {
  name: 'present',
  spiffeIdPattern: '^spiffe://spike\\.ist/workload/app$',
  pathPattern: '^app/.*$',
  permissions: ['read' as const],
};

describe('a missing policy on a Nexus that answers 500 for it (SPIKE 0.8.2)', () => {
  let pki: TestPki;
  let fake: FakeNexus;
  let spike: SpikeClient;

  before(async () => {
    pki = await createTestPki();
    fake = await startFakeNexus({ ...pki.serverTls(), missingPolicyStatus: 500 });
    spike = await createSpikeClient({
      source: pki.sourceFor('superuser'),
      nexusUrl: fake.url,
      env: {},
      timeoutMs: 5000,
    });
    await spike.putPolicy(POLICY);
  });
  after(async () => {
    await spike?.close();
    await fake?.close();
  });

  const actions = (f: FakeNexus, from: number): string[] =>
    f.requests.slice(from).map((r) => `${r.path}?${r.action}`);

  it('get and delete of a missing policy are "not found", found by listing after the 500', async () => {
    for (const call of [() => spike.getPolicy('absent'), () => spike.deletePolicy('absent')]) {
      const from = fake.requests.length;
      const err = await call().then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SpikeNotFoundError, String(err));
      assert.equal(err.code, 'api_not_found');
      assert.equal(err.status, 500, 'the status Nexus really sent');
      assert.ok(err.cause instanceof SpikeInternalError);
      assert.match(err.message, /Not found/);
      assert.equal(actions(fake, from).at(-1), '/v1/acl/policy?list');
    }
  });

  it('an existing policy is read and deleted without listing', async () => {
    const from = fake.requests.length;
    assert.equal((await spike.getPolicy('present')).pathPattern, POLICY.pathPattern);
    assert.deepEqual(actions(fake, from), ['/v1/acl/policy?get']);
    await spike.deletePolicy('present');
    await assert.rejects(spike.getPolicy('present'), SpikeNotFoundError);
    await spike.putPolicy(POLICY);
  });

  it('a 500 for a policy that is listed stays an internal error', async () => {
    fake.policyFaults.names.add('present');
    try {
      await assert.rejects(spike.getPolicy('present'), SpikeInternalError);
      await assert.rejects(spike.deletePolicy('present'), SpikeInternalError);
    } finally {
      fake.policyFaults.names.delete('present');
    }
  });

  it('a 500 while the list reports damaged policy rows stays an internal error (it may be that policy)', async () => {
    fake.policyFaults.names.add('absent');
    fake.policyFaults.damagedRows = 1;
    try {
      await assert.rejects(spike.getPolicy('absent'), SpikeInternalError);
      await assert.rejects(spike.deletePolicy('absent'), SpikeInternalError);
      assert.deepEqual(await spike.listPoliciesReport(), {
        policies: [{ id: '', name: 'present' }],
        damagedRows: 1,
        damagedNames: [],
      });
    } finally {
      fake.policyFaults.names.delete('absent');
      fake.policyFaults.damagedRows = 0;
    }
  });

  it('when the list fails too, the original internal error is kept', async () => {
    fake.policyFaults.list = true;
    try {
      const err = await spike.getPolicy('absent').catch((e: unknown) => e);
      assert.ok(err instanceof SpikeInternalError, String(err));
      assert.equal(err.status, 500);
    } finally {
      fake.policyFaults.list = false;
    }
  });

  it('a 404 from our Nexus needs no list', async () => {
    const ours = await startFakeNexus(pki.serverTls());
    const client = await createSpikeClient({
      source: pki.sourceFor('superuser'),
      nexusUrl: ours.url,
      env: {},
      timeoutMs: 5000,
    });
    try {
      const err = await client.getPolicy('absent').catch((e: unknown) => e);
      assert.ok(err instanceof SpikeNotFoundError);
      assert.equal(err.status, 404);
      assert.deepEqual(actions(ours, 0), ['/v1/acl/policy?get']);
    } finally {
      await client.close();
      await ours.close();
    }
  });
});
