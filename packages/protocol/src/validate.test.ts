import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { BadRequestError } from './json.ts';
import {
  DEFAULT_CIPHER_MAX_SIZE,
  isSpiffeIdPatternShape,
  isValidSecretPath,
  validateBootstrapVerifyRequest,
  validateCipherDecryptRequest,
  validateCipherEncryptRequest,
  validatePathPattern,
  validatePermissions,
  validatePolicyName,
  validatePolicyPutRequest,
  validatePolicyReadRequest,
  validateRestoreRequest,
  validateSecretDeleteRequest,
  validateSecretGetRequest,
  validateSecretKeyName,
  validateSecretPath,
  validateSecretPutRequest,
  validateShardContributeRequest,
  validateSpiffeIdPattern,
  validateVersion,
  validateVersions,
} from './validate.ts';

function bad(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BadRequestError, `expected BadRequestError, got ${String(err)}`);
    assert.ok(err.detail.startsWith(field), `detail "${err.detail}" should name ${field}`);
    return true;
  });
}

// SPIKE's own expressions (spike-sdk-go validation), used as the oracle for the linear checkers.
const GO_SPIFFE_ID_PATTERN = RE2JS.compile(
  '^\\^?spiffe://[\\\\a-zA-Z0-9.\\-*()+?\\[\\]]+(/[\\\\/a-zA-Z0-9._\\-*()+?\\[\\]]+)*\\$?$',
);
const GO_SECRET_PATH = RE2JS.compile('^[a-zA-Z0-9._\\-/()?+*|[\\]{}\\\\]+$');

describe('secret path', () => {
  it('accepts every allowed character and the length bounds', () => {
    const all = 'abcxyzABCXYZ0189._-/()?+*|[]{}\\';
    assert.equal(validateSecretPath(all), all);
    assert.equal(validateSecretPath('a'), 'a');
    assert.equal(validateSecretPath('a'.repeat(500)), 'a'.repeat(500));
    assert.equal(validateSecretPath('/leading/slash'), '/leading/slash');
  });

  it('rejects empty, too long, bad characters and non-strings', () => {
    bad(() => validateSecretPath(''), 'path');
    bad(() => validateSecretPath('a'.repeat(501)), 'path');
    for (const c of [' ', ':', '@', '=', '^', '$', '%', '#', '\n', '\0', 'é', '\u{1f600}', ',', '"']) {
      bad(() => validateSecretPath(`a${c}b`), 'path');
    }
    bad(() => validateSecretPath(7), 'path');
    bad(() => validateSecretPath(null), 'path');
    bad(() => validateSecretPath('', 'secret'), 'secret');
  });

  it('agrees with SPIKE regular expression on random input', () => {
    const chars = fc.constantFrom(...'aZ09._-/()?+*|[]{}\\ ^$:@é\n'.split(''));
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 30 }), (arr) => {
        const s = arr.join('');
        assert.equal(isValidSecretPath(s), GO_SECRET_PATH.testExact(s), JSON.stringify(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('names', () => {
  it('key names and policy names: [a-zA-Z0-9-_ ], 1..250', () => {
    assert.equal(validateSecretKeyName('user name-1_X'), 'user name-1_X');
    assert.equal(validatePolicyName('a'.repeat(250)), 'a'.repeat(250));
    bad(() => validatePolicyName('a'.repeat(251)), 'name');
    bad(() => validatePolicyName(''), 'name');
    bad(() => validatePolicyName('a.b'), 'name');
    bad(() => validatePolicyName('a/b'), 'name');
    bad(() => validateSecretKeyName('pass:word'), 'values');
    bad(() => validateSecretKeyName(''), 'values');
  });
});

describe('SPIFFE ID pattern', () => {
  it('accepts the shapes SPIKE accepts', () => {
    for (const p of [
      '^spiffe://example\\.org/workload/.*$',
      'spiffe://example.org',
      '^spiffe://spike\\.ist/workload/.*$',
      '^spiffe://[a-z]+\\.org/(app)?/x_y$',
      'spiffe://td//double',
      'spiffe://td/a/',
    ]) {
      assert.equal(validateSpiffeIdPattern(p), p);
    }
  });

  it('rejects what SPIKE rejects, and patterns that do not compile', () => {
    for (const p of [
      '.*',
      '',
      '^',
      'spiffe://',
      '^spiffe://$',
      'spiffe://td/',
      'spiffe://td_x/a', // no underscore in the trust domain part
      'spiffe://td/a|b', // no alternation bar
      'spiffe://td/a b',
      'SPIFFE://td',
      'xspiffe://td',
      '^^spiffe://td',
      'spiffe://td$$',
      'spiffe://td/\u00e9',
    ]) {
      bad(() => validateSpiffeIdPattern(p), 'spiffeidPattern');
    }
    // right shape, invalid RE2
    bad(() => validateSpiffeIdPattern('spiffe://td/(a'), 'spiffeidPattern');
    bad(() => validateSpiffeIdPattern('spiffe://td/a**'), 'spiffeidPattern');
    bad(() => validateSpiffeIdPattern('spiffe://td/' + 'a'.repeat(2048)), 'spiffeidPattern');
    bad(() => validateSpiffeIdPattern(42), 'spiffeidPattern');
  });

  it('the linear shape check agrees with SPIKE regular expression', () => {
    const piece = fc.oneof(
      { arbitrary: fc.constantFrom(...'aZ9.-_*()+?[]\\/'.split(''), '/a'), weight: 12 },
      { arbitrary: fc.constantFrom(...'^$|: é'.split('')), weight: 1 },
    );
    const candidate = fc
      .tuple(
        fc.constantFrom('', '^', '^^', 'x'),
        fc.constantFrom('spiffe://', 'spiffe://', 'spiffe:/', ''),
        fc.array(piece, { maxLength: 12 }),
        fc.constantFrom('', '', '$', '$$'),
      )
      .map((parts) => parts.flat().join(''));
    let valid = 0;
    fc.assert(
      fc.property(candidate, (s) => {
        const expected = GO_SPIFFE_ID_PATTERN.testExact(s);
        if (expected) valid++;
        assert.equal(isSpiffeIdPatternShape(s), expected, JSON.stringify(s));
      }),
      { numRuns: 5000 },
    );
    assert.ok(valid > 250, `the generator should produce many valid patterns (got ${valid})`);
  });
});

describe('path pattern', () => {
  it('accepts SPIKE characters including anchors, and pathological but valid RE2', () => {
    for (const p of ['^tenants/demo/db/.*$', '(a+)+$', 'a{2}', '^secrets/(x|y)/[a-z]*$', '.*', '\\d+']) {
      assert.equal(validatePathPattern(p), p);
    }
  });

  it('rejects bad characters, bad length and non-RE2 syntax', () => {
    bad(() => validatePathPattern(''), 'pathPattern');
    bad(() => validatePathPattern('a'.repeat(501)), 'pathPattern');
    bad(() => validatePathPattern('a,b'), 'pathPattern');
    bad(() => validatePathPattern('(?=a)'), 'pathPattern'); // `=` not allowed anyway
    bad(() => validatePathPattern('(a)\\1'), 'pathPattern'); // backreference: not RE2
    bad(() => validatePathPattern('(a'), 'pathPattern');
    bad(() => validatePathPattern('a{1001}'), 'pathPattern');
    bad(() => validatePathPattern('[z-a]'), 'pathPattern');
  });
});

describe('permissions and versions', () => {
  it('permissions: non-empty list of known values', () => {
    assert.deepEqual(validatePermissions(['read', 'write', 'list', 'execute', 'super']), [
      'read',
      'write',
      'list',
      'execute',
      'super',
    ]);
    bad(() => validatePermissions([]), 'permissions');
    bad(() => validatePermissions(['read', 'admin']), 'permissions');
    bad(() => validatePermissions(['READ']), 'permissions');
    bad(() => validatePermissions('read'), 'permissions');
  });

  it('versions: safe integers >= 0, bounded list', () => {
    assert.equal(validateVersion(0), 0);
    assert.equal(validateVersion(7), 7);
    assert.ok(Object.is(validateVersion(-0), 0));
    for (const v of [-1, 1.5, '1', null, Number.MAX_SAFE_INTEGER + 1, Infinity, NaN]) {
      bad(() => validateVersion(v), 'version');
    }
    assert.deepEqual(validateVersions([0, 1, 3]), [0, 1, 3]);
    assert.deepEqual(validateVersions(new Array(1000).fill(1)).length, 1000);
    bad(() => validateVersions(new Array(1001).fill(1)), 'versions');
    bad(() => validateVersions([1, -2]), 'versions');
    bad(() => validateVersions('1'), 'versions');
  });
});

describe('request validators', () => {
  it('secret requests', () => {
    const put = { path: 'a/b', values: { user: 'x', 'pass word': 'y' } };
    assert.equal(validateSecretPutRequest(put), put);
    assert.deepEqual(validateSecretPutRequest({ path: 'a', values: {} }), { path: 'a', values: {} });
    bad(() => validateSecretPutRequest({ path: 'a', values: { 'bad:key': 'v' } }), 'values');
    bad(() => validateSecretPutRequest({ path: '', values: {} }), 'path');
    assert.deepEqual(validateSecretGetRequest({ path: 'a', version: 2 }), { path: 'a', version: 2 });
    bad(() => validateSecretGetRequest({ path: 'a b', version: 0 }), 'path');
    bad(() => validateSecretDeleteRequest({ path: 'a', versions: new Array(1001).fill(0) }), 'versions');
  });

  it('policy requests', () => {
    const ok = {
      name: 'p',
      spiffeidPattern: '^spiffe://td/x$',
      pathPattern: '^a/.*$',
      permissions: ['read'],
    };
    assert.deepEqual(validatePolicyPutRequest(ok), ok);
    bad(() => validatePolicyPutRequest({ ...ok, name: '' }), 'name');
    bad(() => validatePolicyPutRequest({ ...ok, spiffeidPattern: '.*' }), 'spiffeidPattern');
    bad(() => validatePolicyPutRequest({ ...ok, pathPattern: '(' }), 'pathPattern');
    bad(() => validatePolicyPutRequest({ ...ok, permissions: ['root'] }), 'permissions');
    bad(() => validatePolicyPutRequest({ ...ok, permissions: [] }), 'permissions');
    assert.deepEqual(validatePolicyReadRequest({ id: 'my policy' }), { id: 'my policy' });
    bad(() => validatePolicyReadRequest({ id: '' }), 'id');
    bad(() => validatePolicyReadRequest({ id: '../x' }), 'id');
  });

  it('cipher requests: sizes, version and nonce', () => {
    const max = DEFAULT_CIPHER_MAX_SIZE;
    validateCipherEncryptRequest({ plaintext: new Uint8Array(max), algorithm: '' });
    bad(
      () => validateCipherEncryptRequest({ plaintext: new Uint8Array(max + 1), algorithm: '' }),
      'plaintext',
    );
    bad(
      () => validateCipherEncryptRequest({ plaintext: new Uint8Array(11), algorithm: '' }, 10),
      'plaintext',
    );
    const dec = {
      version: 1,
      nonce: new Uint8Array(12),
      ciphertext: new Uint8Array(max + 16),
      algorithm: '',
    };
    assert.equal(validateCipherDecryptRequest(dec), dec);
    bad(() => validateCipherDecryptRequest({ ...dec, ciphertext: new Uint8Array(max + 17) }), 'ciphertext');
    bad(() => validateCipherDecryptRequest({ ...dec, version: 2 }), 'version');
    bad(() => validateCipherDecryptRequest({ ...dec, version: 0 }), 'version');
    bad(() => validateCipherDecryptRequest({ ...dec, nonce: new Uint8Array(11) }), 'nonce');
    validateBootstrapVerifyRequest({ nonce: new Uint8Array(12), ciphertext: new Uint8Array(80) });
    bad(
      () => validateBootstrapVerifyRequest({ nonce: new Uint8Array(16), ciphertext: new Uint8Array(80) }),
      'nonce',
    );
    bad(
      () => validateBootstrapVerifyRequest({ nonce: new Uint8Array(12), ciphertext: new Uint8Array(0) }),
      'ciphertext',
    );
  });

  it('shard requests: id range, missing and all-zero shards', () => {
    const shard = new Uint8Array(32);
    shard[31] = 1;
    assert.deepEqual(validateRestoreRequest({ id: 1, shard }), { id: 1, shard });
    assert.deepEqual(validateRestoreRequest({ id: 1000, shard }).id, 1000);
    bad(() => validateRestoreRequest({ id: 0, shard }), 'id');
    bad(() => validateRestoreRequest({ id: -3, shard }), 'id');
    bad(() => validateRestoreRequest({ id: 1001, shard }), 'id');
    bad(() => validateRestoreRequest({ id: 4, shard }, 3), 'id');
    bad(() => validateRestoreRequest({ id: 1, shard: null }), 'shard');
    bad(() => validateRestoreRequest({ id: 1, shard: new Uint8Array(32) }), 'shard');
    assert.deepEqual(validateShardContributeRequest({ shard }), { shard });
    bad(() => validateShardContributeRequest({ shard: null }), 'shard');
    bad(() => validateShardContributeRequest({ shard: new Uint8Array(32) }), 'shard');
    bad(() => validateShardContributeRequest({ shard: new Uint8Array(31).fill(1) }), 'shard');
  });
});
