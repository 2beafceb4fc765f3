import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyDocument } from './policy-file.ts';

const expected = {
  name: 'web-service-policy',
  spiffeIdPattern: '^spiffe://example\\.org/web-service/.*$',
  pathPattern: '^secrets/web-service/database$',
  permissions: ['read', 'write'],
};

describe('policy files', () => {
  it('reads SPIKE-style YAML', () => {
    const yaml = [
      'name: web-service-policy',
      "spiffeidPattern: '^spiffe://example\\.org/web-service/.*$'",
      'pathPattern: ^secrets/web-service/database$',
      'permissions:',
      '  - read',
      '  - write',
    ].join('\n');
    assert.deepEqual(parsePolicyDocument(yaml, 'p.yaml'), expected);
  });

  it('reads JSON', () => {
    const json = JSON.stringify({
      name: expected.name,
      spiffeidPattern: expected.spiffeIdPattern,
      pathPattern: expected.pathPattern,
      permissions: expected.permissions,
    });
    assert.deepEqual(parsePolicyDocument(json, 'p.json'), expected);
  });

  it('accepts a comma string for permissions', () => {
    const doc = parsePolicyDocument(
      'name: a\nspiffeidPattern: ^spiffe://x/.*$\npathPattern: ^a$\npermissions: read,list\n',
      'f',
    );
    assert.deepEqual(doc.permissions, ['read', 'list']);
  });

  const bad: [string, RegExp][] = [
    [
      'spiffeidPattern: ^spiffe://x/y$\npathPattern: ^a$\npermissions: [read]\n',
      /Policy name is required in policy file 'f'/,
    ],
    ['name: a\npathPattern: ^a$\npermissions: [read]\n', /Policy spiffeidPattern is required/],
    ['name: a\nspiffeidPattern: ^spiffe://x/y$\npermissions: [read]\n', /Policy pathPattern is required/],
    ['name: a\nspiffeidPattern: ^spiffe://x/y$\npathPattern: ^a$\n', /Policy permissions is required/],
    [
      'name: a\nspiffeidPattern: ^spiffe://x/y$\npathPattern: ^a$\npermissions: [read, fly]\n',
      /Invalid permission 'fly'/,
    ],
    ['name: a\nspiffeidPattern: .*\npathPattern: ^a$\npermissions: [read]\n', /Invalid SPIFFE ID pattern/],
    [
      'name: a\nspiffeidPattern: ^spiffe://x/y$\npathPattern: ^a$\npermissions: [read]\nextra: 1\n',
      /unknown key\(s\) 'extra'/,
    ],
    ['name: [a\n', /Cannot parse policy file 'f'/],
    ['- a\n- b\n', /must contain a mapping/],
    [
      'name: 5\nspiffeidPattern: ^spiffe://x/y$\npathPattern: ^a$\npermissions: [read]\n',
      /name in 'f' must be a string/,
    ],
    [
      'name: a\nname: b\nspiffeidPattern: ^spiffe://x/y$\npathPattern: ^a$\npermissions: [read]\n',
      /Cannot parse/,
    ],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text.slice(0, 40))}`, () => {
      assert.throws(() => parsePolicyDocument(text, 'f'), message);
    });
  }
});

describe('policy files with people fields (ADR 0036)', () => {
  it('reads people and groups (lists or comma strings) and allows no spiffeidPattern then', () => {
    const doc = parsePolicyDocument(
      'name: infra\npathPattern: ^infra/.*$\npermissions: [read]\npeople: user:alice,user:bob\ngroups: [infra]\n',
      'f',
    );
    assert.deepEqual(doc, {
      name: 'infra',
      spiffeIdPattern: '',
      pathPattern: '^infra/.*$',
      permissions: ['read'],
      people: ['user:alice', 'user:bob'],
      groups: ['infra'],
    });
  });

  it('reads workloadsOnly', () => {
    const doc = parsePolicyDocument(
      'name: w\nspiffeidPattern: ^spiffe://x/.*$\npathPattern: ^w$\npermissions: [read]\nworkloadsOnly: true\n',
      'f',
    );
    assert.equal(doc.workloadsOnly, true);
  });

  const bad: [string, RegExp][] = [
    ['name: a\npathPattern: ^a$\npermissions: [read]\npeople: [alice]\n', /Invalid people entry 'alice'/],
    ['name: a\npathPattern: ^a$\npermissions: [read]\ngroups: [infra, ""]\n', /Invalid groups entry ''/],
    ['name: a\npathPattern: ^a$\npermissions: [read]\ngroups: []\n', /At least one group is required/],
    ['name: a\npathPattern: ^a$\npermissions: [read]\ngroups: [1]\n', /every entry must be a string/],
    ['name: a\npathPattern: ^a$\npermissions: [read]\npeople: {a: 1}\n', /must be a list/],
    [
      'name: a\nspiffeidPattern: ^spiffe://x/.*$\npathPattern: ^a$\npermissions: [read]\nworkloadsOnly: "yes"\n',
      /must be true or false/,
    ],
    [
      'name: a\npathPattern: ^a$\npermissions: [read]\ngroups: [infra]\nworkloadsOnly: true\n',
      /must not name people or groups/,
    ],
    ['name: a\npathPattern: ^a$\npermissions: [read]\nworkloadsOnly: true\n', /spiffeidPattern is required/],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text.slice(30, 80))}`, () => {
      assert.throws(() => parsePolicyDocument(text, 'f'), message);
    });
  }
});

describe('policy files with an approval rule', () => {
  const head = 'name: vault\npathPattern: ^vault/.*$\npermissions: [read]\ngroups: [infra]\n';

  it('reads the approval mapping; durations as seconds or 15m', () => {
    const doc = parsePolicyDocument(
      `${head}approval:\n  required: 2\n  approverGroups: [infra]\n  approverPeople: user:alice, user:carol\n` +
        '  permissions: [read]\n  grantTtlSeconds: 15m\n  requestTtlSeconds: 3600\n',
      'f',
    );
    assert.deepEqual(doc.approval, {
      required: 2,
      approverGroups: ['infra'],
      approverPeople: ['user:alice', 'user:carol'],
      permissions: ['read'],
      grantTtlSeconds: 900,
      requestTtlSeconds: 3600,
    });
    assert.equal('approval' in parsePolicyDocument(head, 'f'), false, 'no rule: no field');
  });

  const bad: [string, RegExp][] = [
    ['approval: 2\n', /must be a mapping/],
    ['approval:\n  approverGroups: [infra]\n', /approval\.required in f is required/],
    ['approval:\n  required: 2\n', /needs approvers/],
    ['approval:\n  required: 12\n  approverGroups: [infra]\n', /from 1 to 9/],
    ['approval:\n  required: 1\n  approvers: [infra]\n', /unknown key\(s\) 'approvers'/],
    ['approval:\n  required: 1\n  approverPeople: [alice]\n', /each entry is user:<name>/],
    ['approval:\n  required: 1\n  approverGroups: infra\n  grantTtlSeconds: 90000\n', /grantTtlSeconds/],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text.slice(0, 60))}`, () => {
      assert.throws(() => parsePolicyDocument(head + text, 'f'), message);
    });
  }
});
