/**
 * Pins the exact bytes Nexus answers on every SPIKE route: status, content type and body, for a
 * success and for each error the route can give. The other suites compare parsed JSON; this one
 * compares text, so a changed field order, an extra field or a changed zero value fails here even
 * when the parsed object would still look equal. Timestamps come from a fixed clock; the only
 * random parts (cipher nonces and ciphertexts) are matched by their exact length.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { aesGcmEncrypt } from '@spike-ts/core';
import type { Custody, CustodyFactory } from '@spike-ts/nexus';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

/** 2026-01-02T03:04:05.678Z */
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const OCTETS_TYPE = 'application/octet-stream';

interface Case {
  readonly name: string;
  readonly path: string;
  readonly body: unknown;
  readonly as: string;
  readonly status: number;
  /** The exact body, or a pattern for the bodies that carry random bytes. */
  readonly text: string | RegExp;
  readonly type?: string;
  readonly headers?: Record<string, string>;
  readonly method?: string;
}

const b64 = (n: number): string =>
  `[A-Za-z0-9+/]{${String(4 * Math.ceil(n / 3) - ((3 - (n % 3)) % 3))}}={0,2}`;

async function expectCase(send: (c: Case) => Promise<Reply>, c: Case): Promise<void> {
  const r = await send(c);
  assert.equal(r.status, c.status, `${c.name}: status (body ${r.text})`);
  assert.equal(r.headers['content-type'], c.type ?? JSON_TYPE, `${c.name}: content type`);
  if (typeof c.text === 'string') assert.equal(r.text, c.text, `${c.name}: body`);
  else assert.match(r.text, c.text, `${c.name}: body`);
}

const POLICY = {
  name: 'pin',
  spiffeidPattern: '^spiffe://spike\\.ist/workload/reader$',
  pathPattern: '^pin/.*$',
  permissions: ['read', 'list'],
};
const POLICY_VIEW =
  '{"id":"","name":"pin","spiffiedPattern":"^spiffe://spike\\\\.ist/workload/reader$",' +
  '"spiffeidPattern":"^spiffe://spike\\\\.ist/workload/reader$","pathPattern":"^pin/.*$",' +
  '"permissions":["read","list"],"createdAt":"2026-01-02T03:04:05.678Z","updatedAt":"2026-01-02T03:04:05.678Z"}';
const EMPTY_POLICY_VIEW =
  '"id":"","name":"","spiffiedPattern":"","spiffeidPattern":"","pathPattern":"","permissions":null,' +
  '"createdAt":"0001-01-01T00:00:00Z","updatedAt":"0001-01-01T00:00:00Z"';

describe('wire bytes of every SPIKE route (memory backend, ready)', () => {
  let pki: Pki;
  let t: TestNexus;
  let send: (c: Case) => Promise<Reply>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { now: () => NOW, env: { SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE: '2048' } });
    const c = client(t, pki);
    send = async (x) =>
      c({
        path: x.path,
        body: x.body,
        client: await pki.cert(x.as),
        ...(x.method === undefined ? {} : { method: x.method }),
        ...(x.headers === undefined ? {} : { headers: x.headers }),
      });
  });
  after(() => t.close());

  it('secret routes', async () => {
    const S = '/v1/store/secrets';
    const cases: Case[] = [
      {
        name: 'put ok',
        path: S,
        body: { path: 'pin/a', values: { k: 'v' } },
        as: ID.superuser,
        status: 200,
        text: '{}',
      },
      {
        name: 'put v2',
        path: S,
        body: { path: 'pin/a', values: { k: 'w', z: '1' } },
        as: ID.superuser,
        status: 200,
        text: '{}',
      },
      {
        name: 'put bad path',
        path: S,
        body: { path: 'bad path!', values: { k: 'v' } },
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'put malformed',
        path: S,
        body: '{"path":',
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'put wrong type',
        path: S,
        body: { path: 1 },
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'put stranger',
        path: S,
        body: { path: 'pin/a', values: { k: 'v' } },
        as: ID.stranger,
        status: 401,
        text: '{"err":"access_unauthorized"}',
      },
      {
        name: 'put too large',
        path: S,
        body: { path: 'pin/a', values: { k: 'v'.repeat(4000) } },
        as: ID.superuser,
        status: 413,
        text: '{"err":"api_body_too_large"}',
      },
      {
        name: 'get current',
        path: `${S}?action=get`,
        body: { path: 'pin/a' },
        as: ID.superuser,
        status: 200,
        text: '{"data":{"k":"w","z":"1"}}',
      },
      {
        name: 'get version 1',
        path: `${S}?action=get`,
        body: { path: 'pin/a', version: 1 },
        as: ID.superuser,
        status: 200,
        text: '{"data":{"k":"v"}}',
      },
      {
        name: 'get missing',
        path: `${S}?action=get`,
        body: { path: 'pin/none' },
        as: ID.superuser,
        status: 404,
        text: '{"data":null,"err":"api_not_found"}',
      },
      {
        name: 'get missing version',
        path: `${S}?action=get`,
        body: { path: 'pin/a', version: 9 },
        as: ID.superuser,
        status: 404,
        text: '{"data":null,"err":"api_not_found"}',
      },
      {
        name: 'get bad path',
        path: `${S}?action=get`,
        body: { path: '' },
        as: ID.superuser,
        status: 400,
        text: '{"data":null,"err":"api_bad_request"}',
      },
      {
        name: 'get negative version',
        path: `${S}?action=get`,
        body: { path: 'pin/a', version: -1 },
        as: ID.superuser,
        status: 400,
        text: '{"data":null,"err":"api_bad_request"}',
      },
      {
        name: 'get stranger',
        path: `${S}?action=get`,
        body: { path: 'pin/a' },
        as: ID.stranger,
        status: 401,
        text: '{"data":null,"err":"access_unauthorized"}',
      },
      {
        name: 'metadata',
        path: `${S}/metadata?action=get`,
        body: { path: 'pin/a' },
        as: ID.superuser,
        status: 200,
        text:
          '{"versions":{"1":{"createdTime":"2026-01-02T03:04:05.678Z","version":1,"deletedTime":null},' +
          '"2":{"createdTime":"2026-01-02T03:04:05.678Z","version":2,"deletedTime":null}},' +
          '"metadata":{"currentVersion":2,"oldestVersion":1,"createdTime":"2026-01-02T03:04:05.678Z",' +
          '"updatedTime":"2026-01-02T03:04:05.678Z","maxVersions":10}}',
      },
      {
        name: 'metadata missing',
        path: `${S}/metadata?action=get`,
        body: { path: 'pin/none' },
        as: ID.superuser,
        status: 404,
        text:
          '{"metadata":{"currentVersion":0,"oldestVersion":0,"createdTime":"0001-01-01T00:00:00Z",' +
          '"updatedTime":"0001-01-01T00:00:00Z","maxVersions":0},"err":"api_not_found"}',
      },
      {
        name: 'metadata bad path',
        path: `${S}/metadata?action=get`,
        body: { path: 'a b' },
        as: ID.superuser,
        status: 400,
        text:
          '{"metadata":{"currentVersion":0,"oldestVersion":0,"createdTime":"0001-01-01T00:00:00Z",' +
          '"updatedTime":"0001-01-01T00:00:00Z","maxVersions":0},"err":"api_bad_request"}',
      },
      {
        name: 'metadata stranger',
        path: `${S}/metadata?action=get`,
        body: { path: 'pin/a' },
        as: ID.stranger,
        status: 401,
        text:
          '{"metadata":{"currentVersion":0,"oldestVersion":0,"createdTime":"0001-01-01T00:00:00Z",' +
          '"updatedTime":"0001-01-01T00:00:00Z","maxVersions":0},"err":"access_unauthorized"}',
      },
      {
        name: 'list',
        path: `${S}?action=list`,
        body: {},
        as: ID.superuser,
        status: 200,
        text: '{"keys":["pin/a"]}',
      },
      {
        name: 'list stranger',
        path: `${S}?action=list`,
        body: {},
        as: ID.stranger,
        status: 401,
        text: '{"keys":null,"err":"access_unauthorized"}',
      },
      {
        name: 'list malformed',
        path: `${S}?action=list`,
        body: '[',
        as: ID.superuser,
        status: 400,
        text: '{"keys":null,"err":"api_bad_request"}',
      },
      {
        name: 'delete ok',
        path: `${S}?action=delete`,
        body: { path: 'pin/a', versions: [2] },
        as: ID.superuser,
        status: 200,
        text: '{}',
      },
      {
        name: 'delete missing',
        path: `${S}?action=delete`,
        body: { path: 'pin/none' },
        as: ID.superuser,
        status: 404,
        text: '{"err":"api_not_found"}',
      },
      {
        name: 'delete bad versions',
        path: `${S}?action=delete`,
        body: { path: 'pin/a', versions: 'x' },
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'delete stranger',
        path: `${S}?action=delete`,
        body: { path: 'pin/a' },
        as: ID.stranger,
        status: 401,
        text: '{"err":"access_unauthorized"}',
      },
      {
        name: 'get deleted current',
        path: `${S}?action=get`,
        body: { path: 'pin/a' },
        as: ID.superuser,
        status: 200,
        text: '{"data":{"k":"v"}}',
      },
      {
        name: 'metadata after delete',
        path: `${S}/metadata?action=get`,
        body: { path: 'pin/a' },
        as: ID.superuser,
        status: 200,
        text:
          '{"versions":{"1":{"createdTime":"2026-01-02T03:04:05.678Z","version":1,"deletedTime":null},' +
          '"2":{"createdTime":"2026-01-02T03:04:05.678Z","version":2,"deletedTime":"2026-01-02T03:04:05.678Z"}},' +
          '"metadata":{"currentVersion":1,"oldestVersion":1,"createdTime":"2026-01-02T03:04:05.678Z",' +
          '"updatedTime":"2026-01-02T03:04:05.678Z","maxVersions":10}}',
      },
      {
        name: 'metadata of a deleted version',
        path: `${S}/metadata?action=get`,
        body: { path: 'pin/a', version: 2 },
        as: ID.superuser,
        status: 404,
        text:
          '{"metadata":{"currentVersion":0,"oldestVersion":0,"createdTime":"0001-01-01T00:00:00Z",' +
          '"updatedTime":"0001-01-01T00:00:00Z","maxVersions":0},"err":"api_not_found"}',
      },
      {
        name: 'undelete ok',
        path: `${S}?action=undelete`,
        body: { path: 'pin/a', versions: [2] },
        as: ID.superuser,
        status: 200,
        text: '{}',
      },
      {
        name: 'undelete nothing deleted',
        path: `${S}?action=undelete`,
        body: { path: 'pin/a', versions: [2] },
        as: ID.superuser,
        status: 404,
        text: '{"err":"api_not_found"}',
      },
      {
        name: 'undelete missing',
        path: `${S}?action=undelete`,
        body: { path: 'pin/none' },
        as: ID.superuser,
        status: 404,
        text: '{"err":"api_not_found"}',
      },
      {
        name: 'undelete bad path',
        path: `${S}?action=undelete`,
        body: { path: '' },
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'undelete stranger',
        path: `${S}?action=undelete`,
        body: { path: 'pin/a' },
        as: ID.stranger,
        status: 401,
        text: '{"err":"access_unauthorized"}',
      },
    ];
    for (const c of cases) await expectCase(send, c);
  });

  it('policy routes', async () => {
    const P = '/v1/acl/policy';
    const cases: Case[] = [
      { name: 'upsert ok', path: P, body: POLICY, as: ID.superuser, status: 200, text: '{}' },
      {
        name: 'upsert bad pattern',
        path: P,
        body: { ...POLICY, pathPattern: '(' },
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'upsert bad permission',
        path: P,
        body: { ...POLICY, permissions: ['fly'] },
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'upsert stranger',
        path: P,
        body: POLICY,
        as: ID.stranger,
        status: 401,
        text: '{"err":"access_unauthorized"}',
      },
      {
        name: 'get ok',
        path: `${P}?action=get`,
        body: { id: 'pin' },
        as: ID.superuser,
        status: 200,
        text: POLICY_VIEW,
      },
      {
        name: 'get missing',
        path: `${P}?action=get`,
        body: { id: 'none' },
        as: ID.superuser,
        status: 404,
        text: `{${EMPTY_POLICY_VIEW},"err":"api_not_found"}`,
      },
      {
        name: 'get bad name',
        path: `${P}?action=get`,
        body: { id: '' },
        as: ID.superuser,
        status: 400,
        text: `{${EMPTY_POLICY_VIEW},"err":"api_bad_request"}`,
      },
      {
        name: 'get stranger',
        path: `${P}?action=get`,
        body: { id: 'pin' },
        as: ID.stranger,
        status: 401,
        text: `{${EMPTY_POLICY_VIEW},"err":"access_unauthorized"}`,
      },
      {
        name: 'list',
        path: `${P}?action=list`,
        body: {},
        as: ID.superuser,
        status: 200,
        text: `{"policies":[${POLICY_VIEW}]}`,
      },
      {
        name: 'list filtered',
        path: `${P}?action=list`,
        body: { pathPattern: '^x$' },
        as: ID.superuser,
        status: 200,
        text: '{"policies":[]}',
      },
      {
        name: 'list wrong type',
        path: `${P}?action=list`,
        body: { pathPattern: 1 },
        as: ID.superuser,
        status: 400,
        text: '{"policies":null,"err":"api_bad_request"}',
      },
      {
        name: 'list stranger',
        path: `${P}?action=list`,
        body: {},
        as: ID.stranger,
        status: 401,
        text: '{"policies":null,"err":"access_unauthorized"}',
      },
      {
        name: 'delete stranger',
        path: `${P}?action=delete`,
        body: { id: 'pin' },
        as: ID.stranger,
        status: 401,
        text: '{"err":"access_unauthorized"}',
      },
      {
        name: 'delete ok',
        path: `${P}?action=delete`,
        body: { id: 'pin' },
        as: ID.superuser,
        status: 200,
        text: '{}',
      },
      {
        name: 'delete missing',
        path: `${P}?action=delete`,
        body: { id: 'pin' },
        as: ID.superuser,
        status: 404,
        text: '{"err":"api_not_found"}',
      },
      {
        name: 'delete bad name',
        path: `${P}?action=delete`,
        body: { id: '' },
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
    ];
    for (const c of cases) await expectCase(send, c);
  });

  it('cipher routes, JSON and stream mode', async () => {
    const E = '/v1/cipher/encrypt';
    const D = '/v1/cipher/decrypt';
    const enc = await send({
      name: 'encrypt',
      path: E,
      body: { plaintext: 'aGVsbG8=' },
      as: ID.superuser,
      status: 200,
      text: '',
    });
    assert.equal(enc.status, 200);
    assert.match(enc.text, new RegExp(`^\\{"version":1,"nonce":"${b64(12)}","ciphertext":"${b64(21)}"\\}$`));
    const sealed = enc.json();
    const stream = { 'Content-Type': OCTETS_TYPE };
    const cases: Case[] = [
      {
        name: 'encrypt bad base64',
        path: E,
        body: { plaintext: '!' },
        as: ID.superuser,
        status: 400,
        text: '{"version":0,"nonce":null,"ciphertext":null,"err":"api_bad_request"}',
      },
      {
        name: 'encrypt too large',
        path: E,
        body: { plaintext: Buffer.alloc(1600).toString('base64') },
        as: ID.superuser,
        status: 413,
        text: '{"version":0,"nonce":null,"ciphertext":null,"err":"api_body_too_large"}',
      },
      {
        name: 'encrypt stranger',
        path: E,
        body: { plaintext: 'aGk=' },
        as: ID.stranger,
        status: 401,
        text: '{"version":0,"nonce":null,"ciphertext":null,"err":"access_unauthorized"}',
      },
      {
        name: 'decrypt ok',
        path: D,
        body: sealed,
        as: ID.superuser,
        status: 200,
        text: '{"plaintext":"aGVsbG8="}',
      },
      {
        name: 'decrypt bad version',
        path: D,
        body: { ...sealed, version: 2 },
        as: ID.superuser,
        status: 400,
        text: '{"plaintext":null,"err":"api_bad_request"}',
      },
      {
        name: 'decrypt short nonce',
        path: D,
        body: { ...sealed, nonce: 'AAAA' },
        as: ID.superuser,
        status: 400,
        text: '{"plaintext":null,"err":"api_bad_request"}',
      },
      {
        name: 'decrypt tampered',
        path: D,
        body: { ...sealed, ciphertext: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
        as: ID.superuser,
        status: 500,
        text: '{"plaintext":null,"err":"api_internal_error"}',
      },
      {
        name: 'decrypt stranger',
        path: D,
        body: sealed,
        as: ID.stranger,
        status: 401,
        text: '{"plaintext":null,"err":"access_unauthorized"}',
      },
      {
        name: 'stream decrypt empty',
        path: D,
        body: Buffer.alloc(0),
        headers: stream,
        as: ID.superuser,
        status: 400,
        type: TEXT_TYPE,
        text: 'crypto_failed_to_read_version\n',
      },
      {
        name: 'stream decrypt version',
        path: D,
        body: Buffer.from([2, 0]),
        headers: stream,
        as: ID.superuser,
        status: 400,
        type: TEXT_TYPE,
        text: 'crypto_unsupported_version\n',
      },
      {
        name: 'stream decrypt nonce',
        path: D,
        body: Buffer.from([1, 0, 0]),
        headers: stream,
        as: ID.superuser,
        status: 400,
        type: TEXT_TYPE,
        text: 'crypto_failed_to_read_nonce\n',
      },
      {
        name: 'stream decrypt tampered',
        path: D,
        body: Buffer.alloc(40, 1),
        headers: stream,
        as: ID.superuser,
        status: 400,
        type: TEXT_TYPE,
        text: 'crypto_decryption_failed\n',
      },
      {
        name: 'stream decrypt stranger',
        path: D,
        body: Buffer.alloc(40, 1),
        headers: stream,
        as: ID.stranger,
        status: 401,
        text: '{"plaintext":null,"err":"access_unauthorized"}',
      },
    ];
    for (const c of cases) await expectCase(send, c);

    const streamEnc = await send({
      name: 'stream encrypt',
      path: E,
      body: Buffer.from('hello'),
      headers: stream,
      as: ID.superuser,
      status: 200,
      text: '',
    });
    assert.equal(streamEnc.status, 200);
    assert.equal(streamEnc.headers['content-type'], OCTETS_TYPE);
    assert.equal(streamEnc.raw.length, 1 + 12 + 5 + 16);
    assert.equal(streamEnc.raw[0], 1);
    const streamDec = await send({
      name: 'stream decrypt',
      path: D,
      body: streamEnc.raw,
      headers: stream,
      as: ID.superuser,
      status: 200,
      text: '',
    });
    assert.equal(streamDec.status, 200);
    assert.equal(streamDec.headers['content-type'], OCTETS_TYPE);
    assert.equal(streamDec.text, 'hello');
  });

  it('operator routes without custody, bootstrap verify without a root key', async () => {
    const shard = Array.from({ length: 32 }, () => 3);
    const cases: Case[] = [
      {
        name: 'recover memory',
        path: '/v1/operator/recover',
        body: {},
        as: ID.recover,
        status: 400,
        text: '{"shards":null,"err":"api_bad_request"}',
      },
      {
        name: 'recover stranger',
        path: '/v1/operator/recover',
        body: {},
        as: ID.superuser,
        status: 401,
        text: '{"shards":null,"err":"access_unauthorized"}',
      },
      {
        name: 'restore memory',
        path: '/v1/operator/restore',
        body: { id: 1, shard },
        as: ID.restore,
        status: 400,
        text: '{"collected":0,"remaining":0,"restored":false,"err":"api_bad_request"}',
      },
      {
        name: 'restore stranger',
        path: '/v1/operator/restore',
        body: { id: 1, shard },
        as: ID.stranger,
        status: 401,
        text: '{"collected":0,"remaining":0,"restored":false,"err":"access_unauthorized"}',
      },
      {
        name: 'verify stranger',
        path: '/v1/bootstrap/verify',
        body: { nonce: 'AAAAAAAAAAAAAAAA', ciphertext: 'AAAA' },
        as: ID.stranger,
        status: 401,
        text: '{"hash":"","err":"access_unauthorized"}',
      },
      {
        name: 'verify bad nonce',
        path: '/v1/bootstrap/verify',
        body: { nonce: 'AAAA', ciphertext: 'AAAA' },
        as: ID.bootstrap,
        status: 400,
        text: '{"hash":"","err":"api_bad_request"}',
      },
    ];
    for (const c of cases) await expectCase(send, c);
  });

  it('unmatched routes and methods', async () => {
    const cases: Case[] = [
      {
        name: 'unknown path',
        path: '/v1/nothing',
        body: {},
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'unknown action',
        path: '/v1/store/secrets?action=read',
        body: {},
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'trailing slash',
        path: '/v1/acl/policy/',
        body: {},
        as: ID.superuser,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
      {
        name: 'GET on a route',
        path: '/v1/acl/policy?action=get',
        body: undefined,
        method: 'GET',
        as: ID.superuser,
        status: 400,
        text: `{${EMPTY_POLICY_VIEW},"err":"api_bad_request"}`,
      },
      {
        name: 'stranger on unknown path',
        path: '/v1/nothing',
        body: {},
        as: ID.stranger,
        status: 400,
        text: '{"err":"api_bad_request"}',
      },
    ];
    for (const c of cases) await expectCase(send, c);
  });
});

describe('wire bytes while locked and with custody (sqlite backend)', () => {
  let pki: Pki;
  let t: TestNexus;
  let send: (c: Case) => Promise<Reply>;
  const rootKey = new Uint8Array(32).fill(7);

  before(async () => {
    pki = await createPki();
    let restores = 0;
    const factory: CustodyFactory = (deps) => {
      const custody: Custody = {
        recoverShards: () => ({
          '1': Array.from({ length: 32 }, () => 1),
          '2': Array.from({ length: 32 }, () => 2),
        }),
        async restoreShard() {
          restores++;
          const restored = restores >= 2;
          if (restored) await deps.state.installRootKey(new Uint8Array(rootKey));
          return { collected: restores, remaining: Math.max(0, 2 - restores), restored };
        },
        start: () => undefined,
        stop: () => Promise.resolve(),
      };
      return custody;
    };
    t = await startNexus(pki, { backend: 'sqlite', rootKey: null, custodyFactory: factory, now: () => NOW });
    const c = client(t, pki);
    send = async (x) => c({ path: x.path, body: x.body, client: await pki.cert(x.as) });
  });
  after(() => t.close());

  it('not ready, then recover, restore and verify', async () => {
    const shard = Array.from({ length: 32 }, () => 3);
    const nonce = new Uint8Array(12).fill(4);
    const plaintext = Buffer.from('ab'.repeat(32));
    const verify = {
      nonce: Buffer.from(nonce).toString('base64'),
      ciphertext: Buffer.from(aesGcmEncrypt(rootKey, nonce, plaintext)).toString('base64'),
    };
    const hash = createHash('sha256').update(plaintext).digest('hex');
    const cases: Case[] = [
      {
        name: 'list not ready',
        path: '/v1/store/secrets?action=list',
        body: {},
        as: ID.superuser,
        status: 503,
        text: '{"keys":null,"err":"state_not_ready"}',
      },
      {
        name: 'get not ready',
        path: '/v1/store/secrets?action=get',
        body: { path: 'a' },
        as: ID.superuser,
        status: 503,
        text: '{"data":null,"err":"state_not_ready"}',
      },
      {
        name: 'put not ready',
        path: '/v1/store/secrets',
        body: { path: 'a', values: {} },
        as: ID.superuser,
        status: 503,
        text: '{"err":"state_not_ready"}',
      },
      {
        name: 'policy get not ready',
        path: '/v1/acl/policy?action=get',
        body: { id: 'a' },
        as: ID.superuser,
        status: 503,
        text: `{${EMPTY_POLICY_VIEW},"err":"state_not_ready"}`,
      },
      {
        name: 'encrypt not ready',
        path: '/v1/cipher/encrypt',
        body: { plaintext: '' },
        as: ID.superuser,
        status: 503,
        text: '{"version":0,"nonce":null,"ciphertext":null,"err":"state_not_ready"}',
      },
      {
        name: 'verify not ready',
        path: '/v1/bootstrap/verify',
        body: verify,
        as: ID.bootstrap,
        status: 503,
        text: '{"hash":"","err":"state_not_ready"}',
      },
      {
        name: 'stranger not ready',
        path: '/v1/store/secrets?action=list',
        body: {},
        as: ID.stranger,
        status: 503,
        text: '{"keys":null,"err":"state_not_ready"}',
      },
      {
        name: 'recover',
        path: '/v1/operator/recover',
        body: {},
        as: ID.recover,
        status: 200,
        text: `{"shards":{"1":[${Array(32).fill(1).join(',')}],"2":[${Array(32).fill(2).join(',')}]}}`,
      },
      {
        name: 'restore bad id',
        path: '/v1/operator/restore',
        body: { id: 0, shard },
        as: ID.restore,
        status: 400,
        text: '{"collected":0,"remaining":0,"restored":false,"err":"api_bad_request"}',
      },
      {
        name: 'restore 1',
        path: '/v1/operator/restore',
        body: { id: 1, shard },
        as: ID.restore,
        status: 200,
        text: '{"collected":1,"remaining":1,"restored":false}',
      },
      {
        name: 'restore 2',
        path: '/v1/operator/restore',
        body: { id: 2, shard },
        as: ID.restore,
        status: 200,
        text: '{"collected":2,"remaining":0,"restored":true}',
      },
      {
        name: 'verify ok',
        path: '/v1/bootstrap/verify',
        body: verify,
        as: ID.bootstrap,
        status: 200,
        text: `{"hash":"${hash}"}`,
      },
      {
        name: 'verify wrong key',
        path: '/v1/bootstrap/verify',
        body: { ...verify, ciphertext: 'AAAAAAAAAAAAAAAAAAAAAAAA' },
        as: ID.bootstrap,
        status: 500,
        text: '{"hash":"","err":"api_internal_error"}',
      },
      {
        name: 'list ready',
        path: '/v1/store/secrets?action=list',
        body: {},
        as: ID.superuser,
        status: 200,
        text: '{"keys":[]}',
      },
    ];
    for (const c of cases) await expectCase(send, c);
  });
});
