import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBootstrapVerifyRequest,
  decodeCipherDecryptRequest,
  decodeCipherEncryptRequest,
  decodePolicyDeleteRequest,
  decodePolicyListRequest,
  decodePolicyPutRequest,
  decodePolicyReadRequest,
  decodeRestoreRequest,
  decodeSecretDeleteRequest,
  decodeSecretGetRequest,
  decodeSecretListRequest,
  decodeSecretMetadataRequest,
  decodeSecretPutRequest,
  decodeSecretUndeleteRequest,
  decodeShardContributeRequest,
} from './decode.ts';
import { BadRequestError, parseJsonBody } from './json.ts';

const body = (json: string): unknown => parseJsonBody(json);

function bad(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BadRequestError, `expected BadRequestError, got ${String(err)}`);
    assert.ok(err.detail.startsWith(field), `detail "${err.detail}" should name ${field}`);
    return true;
  });
}

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

describe('secret request decoders', () => {
  it('decode the Appendix B bodies', () => {
    assert.deepEqual(decodeSecretPutRequest(body('{"path":"a/b","values":{"k":"v"}}')), {
      path: 'a/b',
      values: { k: 'v' },
    });
    assert.deepEqual(decodeSecretGetRequest(body('{"path":"a/b","version":0}')), { path: 'a/b', version: 0 });
    assert.deepEqual(decodeSecretDeleteRequest(body('{"path":"a/b","versions":[1,2]}')), {
      path: 'a/b',
      versions: [1, 2],
    });
    assert.deepEqual(decodeSecretUndeleteRequest(body('{"path":"a/b","versions":[1]}')), {
      path: 'a/b',
      versions: [1],
    });
    assert.deepEqual(decodeSecretListRequest(body('{}')), {});
    assert.deepEqual(decodeSecretMetadataRequest(body('{"path":"a/b"}')), { path: 'a/b', version: 0 });
  });

  it('keep secret keys named like Object members as plain data (SPIKE stores them)', () => {
    const req = decodeSecretPutRequest(
      body('{"path":"p","values":{"__proto__":"x","constructor":"y","toString":"z","prototype":"w"}}'),
    );
    assert.deepEqual(Object.entries(req.values), [
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['toString', 'z'],
      ['prototype', 'w'],
    ]);
    assert.equal(Object.getPrototypeOf(req.values), Object.prototype);
    assert.equal(
      JSON.stringify(req.values),
      '{"__proto__":"x","constructor":"y","toString":"z","prototype":"w"}',
    );
    // A null value is Go's zero value under such a key too.
    assert.deepEqual(Object.entries(decodeSecretPutRequest(body('{"values":{"__proto__":null}}')).values), [
      ['__proto__', ''],
    ]);
    // A top-level `__proto__` object supplies no fields.
    assert.deepEqual(decodeSecretGetRequest(body('{"__proto__":{"path":"evil","version":7}}')), {
      path: '',
      version: 0,
    });
    assert.equal(({} as Record<string, unknown>)['path'], undefined);
  });

  it('ignore unknown fields such as err, like Go', () => {
    assert.deepEqual(decodeSecretPutRequest(body('{"path":"p","values":{},"err":"","extra":[1,{"x":2}]}')), {
      path: 'p',
      values: {},
    });
  });

  it('match field names case-insensitively, the last match winning (Go rules)', () => {
    assert.deepEqual(decodeSecretGetRequest(body('{"PATH":"a","Version":3}')), { path: 'a', version: 3 });
    assert.deepEqual(decodeSecretGetRequest(body('{"path":"a","Path":"b"}')).path, 'b');
    assert.deepEqual(decodeSecretGetRequest(body('{"Path":"b","path":"a"}')).path, 'a');
    // Go folds U+017F (long s) to "s"
    assert.deepEqual(decodeShardContributeRequest({ '\u017fhard': new Array(32).fill(1) }).shard?.length, 32);
  });

  it('treat missing fields and null as Go zero values', () => {
    assert.deepEqual(decodeSecretPutRequest(body('{}')), { path: '', values: {} });
    assert.deepEqual(decodeSecretPutRequest(body('{"path":null,"values":null}')), { path: '', values: {} });
    assert.deepEqual(decodeSecretPutRequest(body('{"path":"p","values":{"k":null}}')), {
      path: 'p',
      values: { k: '' },
    });
    assert.deepEqual(decodeSecretGetRequest(body('{"path":"p","version":null}')), { path: 'p', version: 0 });
    assert.deepEqual(decodeSecretDeleteRequest(body('{"path":"p","versions":null}')), {
      path: 'p',
      versions: [],
    });
    assert.deepEqual(decodeSecretDeleteRequest(body('{"path":"p","versions":[null,2]}')).versions, [0, 2]);
    assert.deepEqual(decodeSecretGetRequest(body('null')), { path: '', version: 0 });
  });

  it('reject wrong JSON types, naming the field', () => {
    bad(() => decodeSecretPutRequest(body('[]')), 'body');
    bad(() => decodeSecretPutRequest(body('"x"')), 'body');
    bad(() => decodeSecretPutRequest(body('3')), 'body');
    bad(() => decodeSecretListRequest(body('[]')), 'body');
    bad(() => decodeSecretPutRequest(body('{"path":1}')), 'path');
    bad(() => decodeSecretPutRequest(body('{"path":["a"]}')), 'path');
    bad(() => decodeSecretPutRequest(body('{"path":"p","values":["a"]}')), 'values');
    bad(() => decodeSecretPutRequest(body('{"path":"p","values":"k=v"}')), 'values');
    bad(() => decodeSecretPutRequest(body('{"path":"p","values":{"k":1}}')), 'values');
    bad(() => decodeSecretPutRequest(body('{"path":"p","values":{"k":{"nested":"x"}}}')), 'values');
    bad(() => decodeSecretGetRequest(body('{"path":"p","version":"1"}')), 'version');
    bad(() => decodeSecretGetRequest(body('{"path":"p","version":1.5}')), 'version');
    bad(() => decodeSecretGetRequest(body('{"path":"p","version":-1}')), 'version');
    bad(() => decodeSecretGetRequest(body('{"path":"p","version":true}')), 'version');
    bad(() => decodeSecretGetRequest(body('{"path":"p","version":1e300}')), 'version');
    bad(() => decodeSecretGetRequest(body('{"path":"p","version":9007199254740993}')), 'version');
    bad(() => decodeSecretMetadataRequest(body('{"path":"p","version":"x"}')), 'version');
    bad(() => decodeSecretDeleteRequest(body('{"path":"p","versions":1}')), 'versions');
    bad(() => decodeSecretDeleteRequest(body('{"path":"p","versions":["1"]}')), 'versions');
    bad(() => decodeSecretDeleteRequest(body('{"path":"p","versions":[-1]}')), 'versions');
  });
});

describe('policy request decoders', () => {
  it('decode upsert, read, delete and list', () => {
    const put = decodePolicyPutRequest(
      body(
        '{"name":"p","spiffeidPattern":"^spiffe://td/x$","pathPattern":"^a/.*$","permissions":["read","bogus"]}',
      ),
    );
    // permissions are only type-checked here; `validatePolicyPutRequest` checks the values
    assert.deepEqual(put, {
      name: 'p',
      spiffeidPattern: '^spiffe://td/x$',
      pathPattern: '^a/.*$',
      permissions: ['read', 'bogus'],
    });
    assert.deepEqual(decodePolicyPutRequest(body('{}')), {
      name: '',
      spiffeidPattern: '',
      pathPattern: '',
      permissions: [],
    });
    assert.deepEqual(decodePolicyReadRequest(body('{"id":"p"}')), { id: 'p' });
    assert.deepEqual(decodePolicyDeleteRequest(body('{"id":"p","name":"ignored"}')), { id: 'p' });
    assert.deepEqual(decodePolicyListRequest(body('{"spiffeidPattern":"","pathPattern":"^a$"}')), {
      spiffeidPattern: '',
      pathPattern: '^a$',
    });
    assert.deepEqual(decodePolicyListRequest(body('{}')), { spiffeidPattern: '', pathPattern: '' });
  });

  it('reject wrong types', () => {
    bad(() => decodePolicyPutRequest(body('{"name":5}')), 'name');
    bad(() => decodePolicyPutRequest(body('{"permissions":"read"}')), 'permissions');
    bad(() => decodePolicyPutRequest(body('{"permissions":[1]}')), 'permissions');
    bad(() => decodePolicyPutRequest(body('{"spiffeidPattern":{}}')), 'spiffeidPattern');
    bad(() => decodePolicyReadRequest(body('{"id":1}')), 'id');
    bad(() => decodePolicyListRequest(body('{"pathPattern":false}')), 'pathPattern');
  });
});

describe('cipher and bootstrap decoders', () => {
  it('decode standard base64 into bytes', () => {
    const enc = decodeCipherEncryptRequest(body('{"plaintext":"aGk=","algorithm":"AES-GCM"}'));
    assert.deepEqual(enc, { plaintext: bytes(0x68, 0x69), algorithm: 'AES-GCM' });
    assert.deepEqual(decodeCipherEncryptRequest(body('{}')), { plaintext: bytes(), algorithm: '' });
    const dec = decodeCipherDecryptRequest(
      body('{"version":1,"nonce":"AAECAwQFBgcICQoL","ciphertext":"/+8=","algorithm":null}'),
    );
    assert.deepEqual(dec, {
      version: 1,
      nonce: bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
      ciphertext: bytes(0xff, 0xef),
      algorithm: '',
    });
    // Go's decoder skips CR and LF inside base64
    assert.deepEqual(
      decodeCipherEncryptRequest(body('{"plaintext":"aG\\r\\nk="}')).plaintext,
      bytes(0x68, 0x69),
    );
    const verify = decodeBootstrapVerifyRequest(body('{"nonce":"AAAAAAAAAAAAAAAA","ciphertext":"AQID"}'));
    assert.deepEqual(verify, { nonce: new Uint8Array(12), ciphertext: bytes(1, 2, 3) });
  });

  it('reject malformed base64 and wrong types', () => {
    for (const b64 of ['aGk', 'aGk=a', 'a=Gk', '====', 'aGk!', 'aG k=', 'aGk-', 'aGk_', 'aGk===']) {
      bad(() => decodeCipherEncryptRequest({ plaintext: b64 }), 'plaintext');
    }
    bad(() => decodeCipherEncryptRequest(body('{"plaintext":[104,105]}')), 'plaintext');
    bad(() => decodeCipherDecryptRequest(body('{"version":"1"}')), 'version');
    bad(() => decodeCipherDecryptRequest(body('{"version":1,"nonce":12}')), 'nonce');
    bad(() => decodeCipherDecryptRequest(body('{"version":1,"ciphertext":"%%%%"}')), 'ciphertext');
    bad(() => decodeBootstrapVerifyRequest(body('{"nonce":"AAAA","ciphertext":true}')), 'ciphertext');
  });
});

describe('shard decoders', () => {
  const shard = Array.from({ length: 32 }, (_, i) => i * 7);

  it('decode a 32-integer array into bytes; absent or null is null', () => {
    const restore = decodeRestoreRequest(body(JSON.stringify({ id: 2, shard })));
    assert.equal(restore.id, 2);
    assert.deepEqual(restore.shard, new Uint8Array(shard));
    assert.deepEqual(
      decodeShardContributeRequest(body(JSON.stringify({ shard }))).shard,
      new Uint8Array(shard),
    );
    assert.deepEqual(decodeShardContributeRequest(body('{}')), { shard: null });
    assert.deepEqual(decodeShardContributeRequest(body('{"shard":null}')), { shard: null });
    assert.deepEqual(decodeRestoreRequest(body('{}')), { id: 0, shard: null });
    // ranges are the validator's job: a negative id decodes
    assert.equal(decodeRestoreRequest(body('{"id":-4}')).id, -4);
    const withNull = [...shard];
    withNull[0] = null as unknown as number;
    assert.equal(decodeShardContributeRequest({ shard: withNull }).shard?.[0], 0);
  });

  it('reject anything but exactly 32 integers 0..255', () => {
    bad(() => decodeShardContributeRequest({ shard: shard.slice(0, 31) }), 'shard');
    bad(() => decodeShardContributeRequest({ shard: [...shard, 1] }), 'shard');
    bad(() => decodeShardContributeRequest({ shard: [...shard.slice(1), 256] }), 'shard');
    bad(() => decodeShardContributeRequest({ shard: [...shard.slice(1), -1] }), 'shard');
    bad(() => decodeShardContributeRequest({ shard: [...shard.slice(1), 1.5] }), 'shard');
    bad(() => decodeShardContributeRequest({ shard: [...shard.slice(1), '1'] }), 'shard');
    bad(() => decodeShardContributeRequest({ shard: Buffer.from(shard).toString('base64') }), 'shard');
    bad(() => decodeRestoreRequest(body('{"id":"1"}')), 'id');
    bad(() => decodeRestoreRequest(body('{"id":1.5}')), 'id');
  });
});
