/**
 * The SDK's approval methods (ADR 0042) against a real Nexus: a workload with its SVID over mTLS
 * files a request and gets `SpikeApprovalRequiredError` until people approve it through the
 * people listener with `createPeopleClient`; `putPolicy`/`getPolicy` carry the `approval` rule;
 * bad arguments are refused before anything is sent, naming the argument.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStaticX509Source } from '@spike-ts/identity';
import { bundlesFromCas, issueSvid, svidFromMinted } from '@spike-ts/identity/mint';
import { startTestIssuer, type TestIssuer } from '@spike-ts/nexus/testing';
import {
  createPeopleClient,
  createSpikeClient,
  SpikeApprovalRequiredError,
  SpikeBadRequestError,
  SpikeUnauthorizedError,
  type SpikeClient,
} from '@spike-ts/sdk';
import { ID, createPki, startNexus, type Pki, type TestNexus } from './harness.ts';
import { peopleListenerEnv } from './people-listener-env.ts';

describe('SDK approvals', () => {
  let pki: Pki;
  let idp: TestIssuer;
  let t: TestNexus;
  let dir: string;
  let pilot: SpikeClient;
  let reader: SpikeClient;
  const people: SpikeClient[] = [];

  const workload = async (id: string): Promise<SpikeClient> =>
    createSpikeClient({
      source: createStaticX509Source(
        svidFromMinted(await issueSvid(pki.ca, { spiffeId: id })),
        bundlesFromCas([pki.ca]),
      ),
      nexusUrl: `https://127.0.0.1:${t.port}`,
      env: {},
    });
  const person = (name: string, groups: string[]): SpikeClient => {
    const c = createPeopleClient({
      peopleUrl: `https://localhost:${t.nexus.peopleAddress()?.port ?? 0}`,
      accessToken: () => idp.token({ preferred_username: name, groups }),
      ca: pki.caPem,
    });
    people.push(c);
    return c;
  };

  before(async () => {
    pki = await createPki();
    idp = await startTestIssuer();
    dir = await mkdtemp(join(tmpdir(), 'spx-sdk-approvals-'));
    const peopleEnv = await peopleListenerEnv(pki, dir, [
      { issuer: idp.issuer, audience: 'spike-nexus', algorithms: ['RS256'] },
    ]);
    t = await startNexus(pki, {
      env: {
        ...peopleEnv,
      },
    });
    pilot = await workload(ID.superuser);
    reader = await workload(ID.reader);
    await pilot.putSecret('backup/restore-key', { key: 'sdk-secret-value' });
    await pilot.putPolicy({
      name: 'reader-backup',
      spiffeIdPattern: '^spiffe://spike\\.ist/workload/reader$',
      pathPattern: '^backup/.*$',
      permissions: ['read'],
    });
    await pilot.putPolicy({
      name: 'backup-approval',
      spiffeIdPattern: '',
      pathPattern: '^backup/.*$',
      permissions: ['read'],
      approval: { required: 1, approverGroups: ['trustees'], grantTtlSeconds: 600 },
    });
  });
  after(async () => {
    for (const c of [pilot, reader, ...people]) await c?.close();
    await t?.close();
    await idp?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('reads the rule back with getPolicy; a policy without one has no field', async () => {
    const got = await pilot.getPolicy('backup-approval');
    assert.deepEqual(got.approval, { required: 1, approverGroups: ['trustees'], grantTtlSeconds: 600 });
    assert.equal(got.spiffeIdPattern, '');
    assert.equal('approval' in (await pilot.getPolicy('reader-backup')), false);
  });

  it('request, approve, use once: SpikeApprovalRequiredError before and after', async () => {
    await assert.rejects(reader.getSecret('backup/restore-key'), SpikeApprovalRequiredError);
    const filed = await reader.approvals.request('read', 'backup/restore-key', 'restore drill');
    assert.equal(filed.status, 'pending');
    assert.equal(filed.requesterKind, 'workload');
    const trustee = person('tina', ['trustees']);
    const outsider = person('otto', []);
    await assert.rejects(outsider.approvals.approve(filed.id), SpikeUnauthorizedError);
    const pending = await trustee.approvals.list({ status: 'pending' });
    assert.ok(pending.some((r) => r.id === filed.id));
    const approved = await trustee.approvals.approve(filed.id, 'drill ok');
    assert.equal(approved.status, 'approved');
    assert.equal(approved.approvals[0]?.comment, 'drill ok');
    assert.deepEqual(await reader.getSecret('backup/restore-key'), { key: 'sdk-secret-value' });
    await assert.rejects(reader.getSecret('backup/restore-key'), (err: unknown) => {
      assert.ok(err instanceof SpikeApprovalRequiredError);
      assert.equal(err.status, 403);
      assert.match(err.message, /spike request/);
      return true;
    });
    assert.equal((await reader.approvals.get(filed.id)).status, 'used');
    const mine = await reader.approvals.list({ mine: true });
    assert.deepEqual(
      mine.map((r) => r.id),
      [filed.id],
    );
    // Deny and cancel.
    const second = await reader.approvals.request('read', 'backup/restore-key', 'again');
    assert.equal((await reader.approvals.cancel(second.id)).status, 'cancelled');
    const third = await reader.approvals.request('read', 'backup/restore-key', 'once more');
    assert.equal((await trustee.approvals.deny(third.id, 'no')).status, 'denied');
  });

  it('refuses bad arguments before sending, naming them', async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [() => reader.approvals.request('steal' as 'read', 'x', 'r'), 'operation'],
      [() => reader.approvals.request('read', 'bad path!', 'r'), 'target'],
      [() => reader.approvals.request('read', 'backup/x', ''), 'reason'],
      [() => reader.approvals.approve('nope'), 'id'],
      [() => reader.approvals.list({ limit: 5000 }), 'filter'],
      [
        () =>
          pilot.putPolicy({
            name: 'bad',
            spiffeIdPattern: '',
            pathPattern: '^x$',
            permissions: ['read'],
            approval: { required: 0, approverGroups: ['g'] },
          }),
        'approval',
      ],
    ];
    const before = t.audit.records().length;
    for (const [call, argument] of cases) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(err instanceof SpikeBadRequestError, String(err));
        assert.equal(err.status, 0);
        assert.equal((err as unknown as { argument: string }).argument, argument);
        return true;
      });
    }
    assert.equal(t.audit.records().length, before, 'nothing reached Nexus');
  });
});
