/**
 * Store contract, policies part (see `contract.ts`).
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test tracks the promises describe/it return */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import type { PolicyRecord, SecretStore } from '@spike-ts/core';
import { attempt, plain, putVersion, samplePolicy, T0 } from './contract-fixture.ts';
import { InvalidRecordError } from './store-error.ts';

export function policyContract(open: (t: TestContext) => Promise<SecretStore>): void {
  describe('policies', () => {
    it('puts, gets, replaces, lists sorted and deletes policies', async (t) => {
      const store = await open(t);
      await store.putPolicy(samplePolicy('web'));
      await store.putPolicy(samplePolicy('Admin', { permissions: ['super'] }));
      await store.putPolicy(samplePolicy('db', { permissions: [] }));
      assert.deepEqual(plain(await store.getPolicy('web')), plain(samplePolicy('web')));
      assert.deepEqual(
        (await store.listPolicies()).map((p) => p.name),
        ['Admin', 'db', 'web'],
      );
      await store.putPolicy(samplePolicy('web', { pathPattern: '^other$', updatedTime: T0 + 9 }));
      assert.equal((await store.getPolicy('web'))?.pathPattern, '^other$');
      assert.equal((await store.listPolicies()).length, 3);
      assert.deepEqual((await store.getPolicy('db'))?.permissions, []);
      assert.equal(await store.deletePolicy('web'), true);
      assert.equal(await store.deletePolicy('web'), false);
      assert.equal(await store.deletePolicy('never'), false);
      assert.equal(await store.getPolicy('web'), undefined);
      assert.deepEqual(
        (await store.listPolicies()).map((p) => p.name),
        ['Admin', 'db'],
      );
    });

    it('applies queued policy writes in call order', async (t) => {
      const store = await open(t);
      const [, deleted] = await Promise.all([store.putPolicy(samplePolicy('p1')), store.deletePolicy('p1')]);
      assert.equal(deleted, true);
      assert.equal(await store.getPolicy('p1'), undefined);
      const [gone] = await Promise.all([store.deletePolicy('p2'), store.putPolicy(samplePolicy('p2'))]);
      assert.equal(gone, false);
      assert.equal((await store.getPolicy('p2'))?.name, 'p2');
    });

    it('keeps policy names and secret paths in separate namespaces', async (t) => {
      const store = await open(t);
      await store.putPolicy(samplePolicy('same'));
      await store.updateSecret('same', putVersion('same', { a: '1' }));
      assert.equal((await store.getPolicy('same'))?.name, 'same');
      assert.equal((await store.getSecret('same'))?.path, 'same');
    });

    it('keeps the people fields of a policy, and policies without them load as before', async (t) => {
      const store = await open(t);
      const forPeople = samplePolicy('infra', {
        spiffeIdPattern: '',
        people: ['user:alice'],
        groups: ['infra', '/ops/night'],
      });
      const system = samplePolicy('system-only', { workloadsOnly: true });
      await store.putPolicy(forPeople);
      await store.putPolicy(system);
      await store.putPolicy(samplePolicy('legacy'));
      assert.deepEqual(plain(await store.getPolicy('infra')), plain(forPeople));
      assert.equal((await store.getPolicy('system-only'))?.workloadsOnly, true);
      const legacy = await store.getPolicy('legacy');
      assert.equal(legacy !== undefined && 'people' in legacy, false);
      assert.equal(legacy !== undefined && 'workloadsOnly' in legacy, false);
      assert.deepEqual(
        (await store.listPolicies()).map((p) => [p.name, p.groups ?? []]),
        [
          ['infra', ['infra', '/ops/night']],
          ['legacy', []],
          ['system-only', []],
        ],
      );
      await assert.rejects(
        store.putPolicy(samplePolicy('bad', { people: 'user:alice' as unknown as string[] })),
        InvalidRecordError,
      );
      await assert.rejects(
        store.putPolicy(samplePolicy('bad', { groups: [7 as unknown as string] })),
        InvalidRecordError,
      );
      await assert.rejects(
        store.putPolicy(samplePolicy('bad', { workloadsOnly: 'yes' as unknown as boolean })),
        InvalidRecordError,
      );
    });

    it('keeps a policy approval rule sealed with the policy; malformed rules are refused', async (t) => {
      const store = await open(t);
      const rule = samplePolicy('cloud-approval', {
        spiffeIdPattern: '',
        approval: {
          required: 2,
          approverGroups: ['infra'],
          approverPeople: ['user:carol'],
          permissions: ['read', 'decrypt'],
          grantTtlSeconds: 300,
          requestTtlSeconds: 3600,
        },
      });
      await store.putPolicy(rule);
      await store.putPolicy(samplePolicy('without'));
      assert.deepEqual(plain(await store.getPolicy('cloud-approval')), plain(rule));
      const without = await store.getPolicy('without');
      assert.equal(without !== undefined && 'approval' in without, false);
      assert.deepEqual(
        (await store.listPolicies()).map((p) => [p.name, p.approval?.required ?? 0]),
        [
          ['cloud-approval', 2],
          ['without', 0],
        ],
      );
      for (const approval of [
        { required: 0, approverGroups: ['infra'] },
        { required: 1 },
        { required: 1, approverGroups: ['infra'], unknown: 1 },
        'two',
      ]) {
        await assert.rejects(
          store.putPolicy(samplePolicy('bad', { approval: approval as unknown as PolicyRecord['approval'] })),
          InvalidRecordError,
        );
      }
      assert.equal(await store.getPolicy('bad'), undefined);
    });

    it('rejects malformed policies', async (t) => {
      const store = await open(t);
      const bad: PolicyRecord[] = [
        samplePolicy(''),
        samplePolicy('p', { permissions: ['root' as 'read'] }),
        samplePolicy('p', { spiffeIdPattern: 5 as unknown as string }),
        samplePolicy('p', { createdTime: Number.POSITIVE_INFINITY }),
      ];
      for (const p of bad) await assert.rejects(store.putPolicy(p), InvalidRecordError);
      await assert.rejects(store.deletePolicy(''), InvalidRecordError);
      assert.deepEqual(await store.listPolicies(), []);
    });

    it('does not let callers change stored policies through references', async (t) => {
      const store = await open(t);
      const input = plain(samplePolicy('ref')) as unknown as { pathPattern: string; permissions: string[] };
      await store.putPolicy(input as unknown as PolicyRecord);
      input.pathPattern = 'changed';
      input.permissions.push('super');
      const got = await store.getPolicy('ref');
      attempt(() => ((got as { pathPattern: string }).pathPattern = 'changed too'));
      attempt(() => (got!.permissions as string[]).push('super'));
      assert.deepEqual(plain(await store.getPolicy('ref')), plain(samplePolicy('ref')));
      assert.deepEqual(plain((await store.listPolicies())[0]), plain(samplePolicy('ref')));
    });
  });
}
