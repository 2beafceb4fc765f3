import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aesGcmDecrypt, randomBytes } from '@spike-ts/core';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

const ENC = '/v1/cipher/encrypt';
const DEC = '/v1/cipher/decrypt';
const OCTETS = { 'Content-Type': 'application/octet-stream' };

describe('cipher routes', () => {
  let pki: Pki;
  let t: TestNexus;
  const rootKey = randomBytes(32);
  let send: (
    path: string,
    body: unknown,
    opts?: { as?: string; headers?: Record<string, string> },
  ) => Promise<Reply>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { backend: 'sqlite', rootKey: new Uint8Array(rootKey) });
    const c = client(t, pki);
    send = async (path, body, opts = {}) =>
      c({
        path,
        body,
        client: await pki.cert(opts.as ?? ID.superuser),
        ...(opts.headers ? { headers: opts.headers } : {}),
      });
  });
  after(() => t.close());

  const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');

  it('JSON round trip with a fresh nonce per call', async () => {
    const r1 = await send(ENC, { plaintext: b64('hello world') });
    assert.equal(r1.status, 200);
    const e1 = r1.json() as { version: number; nonce: string; ciphertext: string };
    assert.equal(e1.version, 1);
    assert.equal(Buffer.from(e1.nonce, 'base64').length, 12);
    assert.equal(Buffer.from(e1.ciphertext, 'base64').length, 11 + 16);
    const e2 = (await send(ENC, { plaintext: b64('hello world') })).json();
    assert.notEqual(e2.nonce, e1.nonce);

    const d = await send(DEC, e1);
    assert.equal(d.status, 200);
    assert.deepEqual(d.json(), { plaintext: b64('hello world') });
  });

  it('uses the cipher purpose key, never the root (storage) key', async () => {
    const e = (await send(ENC, { plaintext: b64('separate') })).json() as {
      nonce: string;
      ciphertext: string;
    };
    assert.throws(() =>
      aesGcmDecrypt(rootKey, Buffer.from(e.nonce, 'base64'), Buffer.from(e.ciphertext, 'base64')),
    );
  });

  it('stream round trip, and stream and JSON framings interoperate', async () => {
    const plaintext = randomBytes(1000);
    const r = await send(ENC, Buffer.from(plaintext), { headers: OCTETS });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    assert.equal(r.raw[0], 1);
    assert.equal(r.raw.length, 1 + 12 + 1000 + 16);
    const d = await send(DEC, r.raw, { headers: OCTETS });
    assert.equal(d.status, 200);
    assert.deepEqual(new Uint8Array(d.raw), plaintext);

    const j = await send(DEC, {
      version: 1,
      nonce: b64(r.raw.subarray(1, 13)),
      ciphertext: b64(r.raw.subarray(13)),
    });
    assert.deepEqual(j.json(), { plaintext: b64(plaintext) });
  });

  it('only exactly application/octet-stream selects stream mode', async () => {
    const r = await send(ENC, 'raw bytes', {
      headers: { 'Content-Type': 'application/octet-stream; charset=binary' },
    });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { version: 0, nonce: null, ciphertext: null, err: 'api_bad_request' });
  });

  it('accepts exactly the size limit and rejects one byte more (both modes)', async () => {
    const max = randomBytes(65536);
    const e = await send(ENC, { plaintext: b64(max) });
    assert.equal(e.status, 200);
    assert.deepEqual((await send(DEC, e.json())).json(), { plaintext: b64(max) });
    const s = await send(ENC, Buffer.from(max), { headers: OCTETS });
    assert.equal(s.status, 200);
    assert.equal((await send(DEC, s.raw, { headers: OCTETS })).status, 200);

    const over = randomBytes(65537);
    const r1 = await send(ENC, { plaintext: b64(over) });
    assert.equal(r1.status, 400);
    assert.equal(r1.json().err, 'api_bad_request');
    const r2 = await send(ENC, Buffer.from(over), { headers: OCTETS });
    assert.equal(r2.status, 400);
    assert.equal(r2.text.trim(), 'api_bad_request');
    const r3 = await send(DEC, {
      version: 1,
      nonce: b64(randomBytes(12)),
      ciphertext: b64(randomBytes(65536 + 17)),
    });
    assert.equal(r3.status, 400);
  });

  it('stream decrypt errors are plain-text codes', async () => {
    const good = (await send(ENC, Buffer.from('abc'), { headers: OCTETS })).raw;
    const badVersion = Buffer.from(good);
    badVersion[0] = 2;
    let r = await send(DEC, badVersion, { headers: OCTETS });
    assert.equal(r.status, 400);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    assert.equal(r.text.trim(), 'crypto_unsupported_version');

    r = await send(DEC, good.subarray(0, 8), { headers: OCTETS });
    assert.equal(r.status, 400);
    assert.equal(r.text.trim(), 'crypto_failed_to_read_nonce');

    r = await send(DEC, Buffer.alloc(0), { headers: OCTETS });
    assert.equal(r.status, 400);
    assert.equal(r.text.trim(), 'crypto_failed_to_read_version');

    const tampered = Buffer.from(good);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    r = await send(DEC, tampered, { headers: OCTETS });
    assert.equal(r.status, 400);
    assert.equal(r.text.trim(), 'crypto_decryption_failed');
  });

  it('JSON decrypt: tampered ciphertext is 500, bad fields are 400', async () => {
    const e = (await send(ENC, { plaintext: b64('secret') })).json() as {
      version: number;
      nonce: string;
      ciphertext: string;
    };
    const ct = Buffer.from(e.ciphertext, 'base64');
    ct[0] = (ct[0] ?? 0) ^ 0xff;
    let r = await send(DEC, { ...e, ciphertext: ct.toString('base64') });
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), { plaintext: null, err: 'api_internal_error' });

    for (const body of [
      { ...e, version: 2 },
      { ...e, nonce: b64(randomBytes(11)) },
      { ...e, nonce: 'not base64!' },
      { ...e, ciphertext: 42 },
      '{"version":1,',
    ]) {
      r = await send(DEC, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.deepEqual(r.json(), { plaintext: null, err: 'api_bad_request' });
    }
  });

  it('lite workloads and execute policies may use the cipher; strangers may not', async () => {
    assert.equal((await send(ENC, { plaintext: b64('x') }, { as: ID.lite })).status, 200);
    const denied = await send(ENC, Buffer.from('x'), { as: ID.stranger, headers: OCTETS });
    assert.equal(denied.status, 401);
    assert.deepEqual(denied.json(), {
      version: 0,
      nonce: null,
      ciphertext: null,
      err: 'access_unauthorized',
    });
    const deniedDec = await send(DEC, Buffer.from('x'), { as: ID.stranger, headers: OCTETS });
    assert.equal(deniedDec.status, 401);
    assert.deepEqual(deniedDec.json(), { plaintext: null, err: 'access_unauthorized' });

    const p = await send('/v1/acl/policy', {
      name: 'cipher-users',
      spiffeidPattern: '^spiffe://spike\\.ist/workload/stranger$',
      pathPattern: '^spike/system/cipher/exec$',
      permissions: ['execute'],
    });
    assert.equal(p.status, 200);
    const ok = await send(ENC, Buffer.from('x'), { as: ID.stranger, headers: OCTETS });
    assert.equal(ok.status, 200);
  });

  it('never writes payloads into the audit log', async () => {
    const marker = 'PAYLOAD-MARKER-7f3a';
    const e = (await send(ENC, { plaintext: b64(marker) })).json();
    await send(DEC, e);
    await send(ENC, Buffer.from(marker), { headers: OCTETS });
    const audit = t.audit.lines.join('');
    assert.ok(!audit.includes(marker));
    assert.ok(!audit.includes(b64(marker)));
    assert.ok(!audit.includes(String(e.ciphertext)));
    const logs = t.logs.join('');
    assert.ok(!logs.includes(marker) && !logs.includes(b64(marker)));
    const last = t.audit.records().at(-1);
    assert.equal(last?.route, ENC);
    assert.equal(last?.decision, 'allowed');
  });
});
