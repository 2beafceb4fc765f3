/**
 * The SDK's policy methods with the people fields (ADR 0036) against a real Nexus over mTLS:
 * `people`, `groups` and `workloadsOnly` are sent, stored and read back; a policy without them
 * is sent as SPIKE's bytes and read back without them; bad people fields are refused before
 * anything is sent, with the rule in the message, and Nexus keeps nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createStaticX509Source } from '@spike-ts/identity';
import { bundlesFromCas, issueSvid, svidFromMinted } from '@spike-ts/identity/mint';
import { createSpikeClient, SpikeBadRequestError, type PolicyInput, type SpikeClient } from '@spike-ts/sdk';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

describe('SDK policies with people, groups and workloadsOnly', () => {
  let pki: Pki;
  let t: TestNexus;
  let raw: (path: string, body: unknown) => Promise<Reply>;
  let sdk: SpikeClient;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { backend: 'sqlite' });
    const c = client(t, pki);
    const superuser = await pki.cert(ID.superuser);
    raw = (path, body) => c({ path, body, client: superuser });
    const svid = await issueSvid(pki.ca, { spiffeId: ID.superuser });
    sdk = await createSpikeClient({
      source: createStaticX509Source(svidFromMinted(svid), bundlesFromCas([pki.ca])),
      nexusUrl: `https://127.0.0.1:${t.port}`,
      env: {},
    });
  });
  after(async () => {
    await sdk?.close();
    await t?.close();
  });

  it('sends, stores and reads back the people fields', async () => {
    await sdk.putPolicy({
      name: 'infra-people',
      spiffeIdPattern: '',
      pathPattern: '^infra/.*$',
      permissions: ['read', 'list'],
      people: ['user:alice', 'user:bob'],
      groups: ['infra'],
    });
    const got = await sdk.getPolicy('infra-people');
    assert.equal(got.spiffeIdPattern, '');
    assert.deepEqual(got.people, ['user:alice', 'user:bob']);
    assert.deepEqual(got.groups, ['infra']);
    assert.equal('workloadsOnly' in got, false);
    const wire = await raw('/v1/acl/policy?action=get', { id: 'infra-people' });
    assert.deepEqual(wire.json().people, ['user:alice', 'user:bob']);

    await sdk.putPolicy({
      name: 'systems-only',
      spiffeIdPattern: '^spiffe://spike\\.ist/workload/reader$',
      pathPattern: '^system/.*$',
      permissions: ['read'],
      workloadsOnly: true,
    });
    const only = await sdk.getPolicy('systems-only');
    assert.equal(only.workloadsOnly, true);
    assert.equal('people' in only, false);
    assert.equal('groups' in only, false);
  });

  it('leaves a policy without them as SPIKE has it: no fields sent, none read back', async () => {
    await sdk.putPolicy({
      name: 'plain',
      spiffeIdPattern: '^spiffe://spike\\.ist/workload/app$',
      pathPattern: '^app/.*$',
      permissions: ['read'],
      people: [],
      groups: [],
      workloadsOnly: false,
    });
    const got = await sdk.getPolicy('plain');
    for (const field of ['people', 'groups', 'workloadsOnly']) assert.equal(field in got, false, field);
    const wire = (await raw('/v1/acl/policy?action=get', { id: 'plain' })).json();
    for (const field of ['people', 'groups', 'workloadsOnly']) assert.equal(field in wire, false, field);
    const stored = (await t.store.listPolicies()).find((p) => p.name === 'plain');
    assert.ok(stored !== undefined);
    for (const field of ['people', 'groups', 'workloadsOnly']) assert.equal(field in stored, false, field);
  });

  it('refuses bad people fields with the rule, and Nexus keeps nothing', async () => {
    const base: PolicyInput = { name: 'bad', spiffeIdPattern: '', pathPattern: '^a$', permissions: ['read'] };
    const cases: [Partial<PolicyInput>, RegExp][] = [
      [{ people: ['user:'] }, /people: each entry is user:<name>/],
      [{ people: ['alice'] }, /people: each entry is user:<name>/],
      [{ groups: [''] }, /groups: each entry is a group name/],
      [{ groups: ['infra'], workloadsOnly: true }, /workloads-only policy must not name people or groups/],
      [{ people: [] }, /spiffeIdPattern: must be/],
      [{ people: 'user:alice' as unknown as string[] }, /people: must be a list of strings/],
      [
        { groups: ['infra'], workloadsOnly: 'yes' as unknown as boolean },
        /workloadsOnly: must be true or false/,
      ],
    ];
    for (const [fields, message] of cases) {
      await assert.rejects(
        sdk.putPolicy({ ...base, ...fields }),
        (err: unknown) => err instanceof SpikeBadRequestError && message.test(err.message),
        JSON.stringify(fields),
      );
    }
    assert.equal(
      (await t.store.listPolicies()).some((p) => p.name === 'bad'),
      false,
    );
  });
});
