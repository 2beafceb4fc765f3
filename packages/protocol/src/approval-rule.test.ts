import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadRequestError } from './api-error.ts';
import { gatedPermissions, parseApprovalRule } from './approval-rule.ts';
import {
  decodeApprovalFileRequest,
  decodeApprovalListRequest,
  validateApprovalId,
  validateApprovalReason,
  validateApprovalTarget,
} from './approvals.ts';

/** The message of the BadRequestError `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BadRequestError, String(err));
    return err.detail;
  }
  assert.fail('accepted');
}

describe('approval rules (parseApprovalRule, shared by Nexus, SDK and CLI)', () => {
  it('accepts a rule and tidies it: duplicates removed, empty lists left out', () => {
    assert.deepEqual(
      parseApprovalRule({
        required: 2,
        approverGroups: ['infra', 'infra'],
        approverPeople: [],
        permissions: ['read', 'read'],
        grantTtlSeconds: 60,
      }),
      { required: 2, approverGroups: ['infra'], permissions: ['read'], grantTtlSeconds: 60 },
    );
    assert.deepEqual(
      parseApprovalRule({ required: 1, approverPeople: ['user:carol'], approverGroups: null }),
      {
        required: 1,
        approverPeople: ['user:carol'],
      },
    );
  });

  it('names the field and the rule for every bad value', () => {
    const cases: [unknown, RegExp][] = [
      ['2', /approval: must be an object/],
      [[], /approval: must be an object/],
      [null, /approval: must be an object/],
      [{ required: 2, approverGroups: ['a'], extra: 1 }, /unknown field "extra"/],
      [{ required: '2', approverGroups: ['a'] }, /approval\.required: must be an integer/],
      [{ required: 1.5, approverGroups: ['a'] }, /approval\.required: must be an integer/],
      [{ required: 0, approverGroups: ['a'] }, /approval\.required: .*1\.\.9/],
      [{ required: 10, approverGroups: ['a'] }, /approval\.required: .*1\.\.9/],
      [{ approverGroups: ['a'] }, /approval\.required/],
      [{ required: 1 }, /at least one approver/],
      [{ required: 1, approverGroups: 'a' }, /approverGroups: must be a list of strings/],
      [{ required: 1, approverGroups: [1] }, /approverGroups: must be a list of strings/],
      [{ required: 1, approverGroups: [''] }, /approverGroups: each a group name/],
      [{ required: 1, approverGroups: ['a\nb'] }, /approverGroups: each a group name/],
      [{ required: 1, approverGroups: Array.from({ length: 65 }, (_, i) => `g${i}`) }, /at most 64/],
      [{ required: 1, approverPeople: ['alice'] }, /approverPeople: each is user:<name>/],
      [{ required: 1, approverPeople: ['user:'] }, /approverPeople: each is user:<name>/],
      [{ required: 3, approverPeople: ['user:a', 'user:b'] }, /can never come from 2/],
      [{ required: 1, approverGroups: ['a'], permissions: [] }, /permissions: leave it out/],
      [{ required: 1, approverGroups: ['a'], permissions: ['list'] }, /permissions: each one of read, write/],
      [{ required: 1, approverGroups: ['a'], grantTtlSeconds: 0 }, /grantTtlSeconds: 1\.\.86400/],
      [{ required: 1, approverGroups: ['a'], grantTtlSeconds: 86_401 }, /grantTtlSeconds/],
      [{ required: 1, approverGroups: ['a'], requestTtlSeconds: 604_801 }, /requestTtlSeconds: 1\.\.604800/],
    ];
    for (const [value, message] of cases)
      assert.match(
        refusal(() => parseApprovalRule(value)),
        message,
      );
    // The field name given is the one in messages (the CLI names its flag or file key).
    assert.match(
      refusal(() => parseApprovalRule({ required: 0, approverGroups: ['a'] }, 'policy.approval')),
      /^policy\.approval\.required/,
    );
  });

  it('gates the rule’s own permissions, else the policy’s (super: all four)', () => {
    assert.deepEqual(gatedPermissions({ required: 1, approverGroups: ['a'] }, ['read', 'list']), ['read']);
    assert.deepEqual(gatedPermissions({ required: 1, approverGroups: ['a'] }, ['super']), [
      'read',
      'write',
      'sign',
      'decrypt',
    ]);
    assert.deepEqual(
      gatedPermissions({ required: 1, approverGroups: ['a'], permissions: ['sign'] }, ['super']),
      ['sign'],
    );
  });
});

describe('approval request bodies', () => {
  it('decodes strictly: object, known fields, types, known operation', () => {
    assert.deepEqual(decodeApprovalFileRequest({ operation: 'read', target: 'a/b', reason: 'r' }), {
      operation: 'read',
      target: 'a/b',
      reason: 'r',
    });
    assert.match(
      refusal(() => decodeApprovalFileRequest([])),
      /JSON object/,
    );
    assert.match(
      refusal(() => decodeApprovalFileRequest({ operation: 'read', x: 1 })),
      /unknown field "x"/,
    );
    assert.match(
      refusal(() => decodeApprovalFileRequest({ operation: 'own' })),
      /operation: must be one of/,
    );
    assert.match(
      refusal(() => decodeApprovalFileRequest({ operation: 'read', reason: 7 })),
      /reason: must be a string/,
    );
    assert.match(
      refusal(() => decodeApprovalFileRequest({ operation: 'read', reason: 'x'.repeat(1001) })),
      /reason: at most 1000/,
    );
    assert.match(
      refusal(() => decodeApprovalListRequest({ limit: -1 })),
      /limit/,
    );
    assert.match(
      refusal(() => decodeApprovalListRequest({ mine: 1 })),
      /mine/,
    );
  });

  it('checks targets, reasons and ids', () => {
    assert.equal(validateApprovalTarget('read', 'cloud/master'), 'cloud/master');
    assert.equal(validateApprovalTarget('policy', ''), '');
    assert.match(
      refusal(() => validateApprovalTarget('policy', 'x')),
      /must be empty/,
    );
    assert.match(
      refusal(() => validateApprovalTarget('sign', '../k')),
      /a key name/,
    );
    assert.match(
      refusal(() => validateApprovalTarget('write', '')),
      /target/,
    );
    assert.match(
      refusal(() => validateApprovalReason(' \n ')),
      /say why/,
    );
    assert.match(
      refusal(() => validateApprovalReason('a\u0000b')),
      /control characters/,
    );
    assert.equal(validateApprovalReason('line one\nline two\tok'), 'line one\nline two\tok');
    assert.match(
      refusal(() => validateApprovalId('short')),
      /request id/,
    );
    assert.match(
      refusal(() => validateApprovalId(`${'A'.repeat(30)}/../x`)),
      /request id/,
    );
  });
});
