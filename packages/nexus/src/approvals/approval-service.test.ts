import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApprovalRequiredError, NotReadyError } from '@spike-ts/protocol';
import { createPolicyEngine, type PolicyRecord, type SecretStore } from '@spike-ts/core';
import { createMemoryStore } from '@spike-ts/store';
import { ApprovalService, approvalGates } from './approval-service.ts';

/** A store that counts the calls made to it (and forwards them to a memory store). */
function counted(): { store: SecretStore; calls: string[] } {
  const inner = createMemoryStore();
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}

const rule = (name: string, pathPattern: string): PolicyRecord => ({
  name,
  spiffeIdPattern: '',
  pathPattern,
  permissions: ['read'],
  createdTime: 0,
  updatedTime: 0,
  approval: { required: 1, approverGroups: ['infra'] },
});

describe('approval enforcement cost', () => {
  it('touches nothing while no policy has a rule, or when no rule matches the path', async () => {
    const { store, calls } = counted();
    const engine = createPolicyEngine();
    const approvals = new ApprovalService({ store, engine, now: () => 0 });
    await approvals.enforce('spiffe://x/app', 'read', 'cloud/master');
    assert.deepEqual(calls, []);
    engine.upsert(rule('cloud', '^cloud/.*$'));
    await approvals.enforce('spiffe://x/app', 'read', 'other/path');
    await approvals.enforce('spiffe://x/app', 'write', 'cloud/master');
    assert.deepEqual(calls, []);
  });

  it('a refusal is one read and no write', async () => {
    const { store, calls } = counted();
    const engine = createPolicyEngine();
    engine.upsert(rule('cloud', '^cloud/.*$'));
    const approvals = new ApprovalService({ store, engine, now: () => 0 });
    const notes: unknown[] = [];
    await assert.rejects(
      approvals.enforce('spiffe://x/app', 'read', 'cloud/master', (n) => notes.push(n)),
      ApprovalRequiredError,
    );
    assert.deepEqual(calls, ['getSecretVersion']);
    assert.deepEqual(notes, [{ operation: 'read' }]);
  });

  it('a thread that must not use grants (an API thread on SQLite) refuses a gated operation as retryable and touches nothing', async () => {
    const { store, calls } = counted();
    const engine = createPolicyEngine();
    const approvals = new ApprovalService({ store, engine, now: () => 0, usesGrants: false });
    await approvals.enforce('spiffe://x/app', 'read', 'cloud/master');
    engine.upsert(rule('cloud', '^cloud/.*$'));
    await approvals.enforce('spiffe://x/app', 'read', 'other/path');
    await assert.rejects(approvals.enforce('spiffe://x/app', 'read', 'cloud/master'), (err: unknown) => {
      assert.ok(err instanceof NotReadyError);
      assert.equal(err.code, 'state_not_ready');
      return true;
    });
    assert.deepEqual(calls, []);
  });

  it('approvalGates answers as the service does, per operation and path', () => {
    const engine = createPolicyEngine();
    assert.equal(approvalGates(engine, 'read', 'cloud/master'), false);
    engine.upsert(rule('cloud', '^cloud/.*$'));
    assert.equal(approvalGates(engine, 'read', 'cloud/master'), true);
    assert.equal(approvalGates(engine, 'read', 'cloudy/master'), false);
    assert.equal(approvalGates(engine, 'write', 'cloud/master'), false);
    engine.remove('cloud');
    assert.equal(approvalGates(engine, 'read', 'cloud/master'), false);
  });
});
