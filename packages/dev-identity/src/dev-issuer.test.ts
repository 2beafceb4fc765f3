import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { pemToDer, splitDer } from '@spike-ts/identity';
import { parseOwnX509Svid } from '@spike-ts/identity';
import { loadWorkloadApi, workloadMetadata } from '@spike-ts/identity';
import type { X509BundlesResponseMessage, X509SvidResponseMessage } from '@spike-ts/identity';
import { WorkloadApiClient } from '@spike-ts/identity';
import { fetchJwtBundles, fetchJwtSvid, validateJwtSvid } from '@spike-ts/identity';
import { DevIssuerRefusedError, startDevIssuer } from './dev-issuer.ts';
import type { DevIssuer } from './dev-issuer.ts';

type RawClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

function rawClient(endpoint: string): RawClient {
  const { Client } = loadWorkloadApi();
  return new Client(endpoint, grpc.credentials.createInsecure()) as unknown as RawClient;
}

function rawUnary(
  client: RawClient,
  method: string,
  request: object,
  metadata?: grpc.Metadata,
): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) => {
    const cb = (err: grpc.ServiceError | null): void =>
      err === null ? reject(new Error('call succeeded')) : resolve(err);
    if (metadata === undefined) client[method]!(request, cb);
    else client[method]!(request, metadata, cb);
  });
}

function rawStreamError(
  client: RawClient,
  method: string,
  metadata?: grpc.Metadata,
): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) => {
    const stream = (
      metadata === undefined ? client[method]!({}) : client[method]!({}, metadata)
    ) as grpc.ClientReadableStream<unknown>;
    stream.on('data', () => reject(new Error('stream sent data')));
    stream.on('error', (err: grpc.ServiceError) => resolve(err));
  });
}

function firstMessage<T>(stream: grpc.ClientReadableStream<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    stream.once('data', (m: T) => {
      stream.on('error', () => undefined);
      stream.cancel();
      resolve(m);
    });
    stream.once('error', reject);
  });
}

const IDENTITIES = [
  { name: 'nexus', spiffeId: 'spiffe://spike.ist/spike/nexus' },
  { name: 'demo', spiffeId: 'spiffe://spike.ist/workload/demo' },
];

describe('dev identity issuer', () => {
  let tmp: string;
  let issuer: DevIssuer;
  const clients: grpc.Client[] = [];

  before(async () => {
    tmp = fs.mkdtempSync('/tmp/spx-');
    issuer = await startDevIssuer({
      stateDir: path.join(tmp, 'state'),
      socketDir: path.join(tmp, 's'),
      identities: IDENTITIES,
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await issuer?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lays out private state and sockets: dirs 0700, sockets and keys 0600', () => {
    const mode = (p: string): number => fs.statSync(p).mode & 0o777;
    assert.equal(mode(path.join(tmp, 'state')), 0o700);
    assert.equal(mode(path.join(tmp, 's')), 0o700);
    assert.equal(mode(path.join(tmp, 'state', 'ca.key')), 0o600);
    assert.equal(mode(path.join(tmp, 'state', 'jwt.key')), 0o600);
    for (const [name, socket] of issuer.sockets) {
      assert.ok(fs.statSync(socket).isSocket(), name);
      assert.equal(mode(socket), 0o600, name);
      assert.equal(issuer.endpointFor(name), `unix://${socket}`);
    }
    assert.throws(() => issuer.endpointFor('nope'), /unknown dev identity/);
  });

  it('serves each socket its own X.509-SVID, valid and chained to the bundle CA', async () => {
    const client = new WorkloadApiClient({ endpoint: issuer.endpointFor('demo') });
    try {
      const message = await firstMessage<X509SvidResponseMessage>(client.fetchX509Svid());
      assert.equal(message.svids.length, 1);
      const raw = message.svids[0]!;
      assert.equal(raw.spiffe_id, 'spiffe://spike.ist/workload/demo');
      const { svid, bundleDer } = parseOwnX509Svid({
        spiffeId: raw.spiffe_id,
        x509Svid: raw.x509_svid,
        x509SvidKey: raw.x509_svid_key,
        bundle: raw.bundle,
      });
      const ca = new X509Certificate(Buffer.from(bundleDer[0]!));
      const leaf = new X509Certificate(Buffer.from(svid.certChainDer[0]!));
      assert.ok(leaf.verify(ca.publicKey), 'leaf is signed by the bundle CA');
      assert.ok(ca.ca);
      const pemRoots = pemToDer(issuer.bundlePem());
      assert.deepEqual(
        pemRoots.map((d) => Buffer.from(d)),
        bundleDer.map((d) => Buffer.from(d)),
      );
      assert.deepEqual(fs.readFileSync(path.join(tmp, 'state', 'bundle.pem'), 'utf8'), issuer.bundlePem());
    } finally {
      client.close();
    }
  });

  it('FetchX509Bundles returns the CA under spiffe://<td>', async () => {
    const client = new WorkloadApiClient({ endpoint: issuer.endpointFor('nexus') });
    try {
      const message = await firstMessage<X509BundlesResponseMessage>(client.fetchX509Bundles());
      assert.deepEqual(Object.keys(message.bundles), ['spiffe://spike.ist']);
      const roots = splitDer(message.bundles['spiffe://spike.ist']!);
      assert.deepEqual(Buffer.from(roots[0]!), Buffer.from(pemToDer(issuer.bundlePem())[0]!));
    } finally {
      client.close();
    }
  });

  it('answers INVALID_ARGUMENT "security header missing from request" without the header', async () => {
    const client = rawClient(issuer.endpointFor('nexus'));
    clients.push(client);
    for (const method of ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles']) {
      const err = await rawStreamError(client, method);
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT, method);
      assert.equal(err.details, 'security header missing from request');
    }
    const jwt = await rawUnary(client, 'FetchJWTSVID', { audience: ['a'] });
    assert.equal(jwt.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(jwt.details, 'security header missing from request');
    const validate = await rawUnary(client, 'ValidateJWTSVID', { audience: 'a', svid: 'x.y.z' });
    assert.equal(validate.code, grpc.status.INVALID_ARGUMENT);
    // A wrong value is as bad as none.
    const wrong = new grpc.Metadata();
    wrong.set('workload.spiffe.io', 'yes');
    const err = await rawUnary(client, 'FetchJWTSVID', { audience: ['a'] }, wrong);
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  });

  it('answers UNIMPLEMENTED for WIT-SVIDs', async () => {
    const client = rawClient(issuer.endpointFor('nexus'));
    clients.push(client);
    const err = await rawStreamError(client, 'FetchWITSVID', workloadMetadata());
    assert.equal(err.code, grpc.status.UNIMPLEMENTED);
  });

  it('mints JWT-SVIDs that validate locally with the JWT bundle and through ValidateJWTSVID', async () => {
    const endpoint = issuer.endpointFor('demo');
    const jwt = await fetchJwtSvid({ endpoint, audience: 'spiffe://spike.ist/spike/nexus' });
    assert.equal(jwt.spiffeId, 'spiffe://spike.ist/workload/demo');
    const header = decodeProtectedHeader(jwt.token);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'JWT');
    assert.equal(typeof header.kid, 'string');

    const bundles = await fetchJwtBundles({ endpoint });
    const jwks = bundles.get('spike.ist');
    assert.ok(jwks);
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]!.use, undefined, 'standard JWKS has no "use"');
    assert.equal(jwks.keys[0]!.kid, header.kid);
    assert.equal(jwks.keys[0]!.d, undefined, 'no private key material');
    const local = await jwtVerify(jwt.token, createLocalJWKSet(jwks), {
      audience: 'spiffe://spike.ist/spike/nexus',
      algorithms: ['ES256'],
    });
    assert.equal(local.payload.sub, 'spiffe://spike.ist/workload/demo');
    assert.ok(typeof local.payload.exp === 'number' && typeof local.payload.iat === 'number');
    assert.ok(local.payload.exp - local.payload.iat === 300, 'default JWT TTL is 5m');

    // Validated by another identity's socket: the token belongs to demo, the validator is nexus.
    const validated = await validateJwtSvid({
      endpoint: issuer.endpointFor('nexus'),
      token: jwt.token,
      audience: 'spiffe://spike.ist/spike/nexus',
    });
    assert.equal(validated.spiffeId, 'spiffe://spike.ist/workload/demo');
    assert.deepEqual(validated.claims['aud'], ['spiffe://spike.ist/spike/nexus']);
    assert.equal(validated.claims['sub'], 'spiffe://spike.ist/workload/demo');
    assert.equal(validated.claims['exp'], local.payload.exp);
  });

  it('rejects a wrong audience, a tampered token and a non-JWT with INVALID_ARGUMENT', async () => {
    const endpoint = issuer.endpointFor('nexus');
    const jwt = await fetchJwtSvid({ endpoint, audience: 'right' });
    const wrongAudience = validateJwtSvid({ endpoint, token: jwt.token, audience: 'wrong' });
    await assert.rejects(
      wrongAudience,
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /aud/.test(err.details),
    );
    const [h, p, s] = jwt.token.split('.');
    const tampered = `${h}.${p}.${s!.slice(0, -4)}AAAA`;
    await assert.rejects(
      validateJwtSvid({ endpoint, token: tampered, audience: 'right' }),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT,
    );
    await assert.rejects(
      validateJwtSvid({ endpoint, token: 'not-a-jwt', audience: 'right' }),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT,
    );
    await assert.rejects(
      validateJwtSvid({ endpoint, token: jwt.token, audience: '' }),
      (err: grpc.ServiceError) =>
        err.code === grpc.status.INVALID_ARGUMENT && /audience must be specified/.test(err.details),
    );
  });

  it('rejects an empty audience and honours the spiffe_id filter', async () => {
    const client = new WorkloadApiClient({ endpoint: issuer.endpointFor('nexus') });
    clients.push(rawClient(issuer.endpointFor('nexus')));
    try {
      const raw = clients[clients.length - 1] as RawClient;
      const empty = await rawUnary(raw, 'FetchJWTSVID', { audience: [] }, workloadMetadata());
      assert.equal(empty.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(empty.details, 'audience must be specified');
      const own = await client.fetchJwtSvids(['a'], 'spiffe://spike.ist/spike/nexus');
      assert.equal(own[0]?.spiffeId, 'spiffe://spike.ist/spike/nexus');
      await assert.rejects(
        client.fetchJwtSvids(['a'], 'spiffe://spike.ist/workload/demo'),
        (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED,
      );
      await assert.rejects(
        client.fetchJwtSvids(['a'], 'not a spiffe id'),
        (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT,
      );
    } finally {
      client.close();
    }
  });

  it('refuses a socket that another issuer is serving', async () => {
    await assert.rejects(
      startDevIssuer({
        stateDir: path.join(tmp, 'state2'),
        socketDir: path.join(tmp, 's'),
        identities: IDENTITIES,
      }),
      /in use by another process/,
    );
    // The running issuer's sockets are untouched.
    assert.ok(fs.statSync(issuer.sockets.get('nexus')!).isSocket());
  });
});

describe('dev identity issuer lifecycle', () => {
  it('refuses to start under NODE_ENV=production', async () => {
    await assert.rejects(startDevIssuer({ env: { NODE_ENV: 'production' } }), DevIssuerRefusedError);
  });

  it('reuses the stored CA across restarts, replaces a stale socket file, and removes sockets on close', async () => {
    const tmp = fs.mkdtempSync('/tmp/spx-');
    try {
      const opts = {
        stateDir: path.join(tmp, 'state'),
        socketDir: path.join(tmp, 's'),
        identities: IDENTITIES.slice(0, 1),
      };
      const first = await startDevIssuer(opts);
      const bundle1 = first.bundlePem();
      await first.close();
      assert.equal(fs.existsSync(path.join(tmp, 's', 'nexus.sock')), false, 'socket removed on close');
      // A dead socket left behind by a crash must not block the next start.
      const socketPath = path.join(tmp, 's', 'nexus.sock');
      // Bind a socket elsewhere, give it a second name, then close it: the second name stays
      // behind as a socket file nobody listens on (what a killed process leaves).
      const bound = path.join(tmp, 'bound.sock');
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(bound, resolve));
      fs.linkSync(bound, socketPath);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      assert.ok(fs.statSync(path.join(tmp, 's', 'nexus.sock')).isSocket());
      const second = await startDevIssuer(opts);
      try {
        assert.equal(second.bundlePem(), bundle1, 'same CA after restart');
      } finally {
        await second.close();
      }
      // A different trust domain in the same state dir gets a new CA.
      const third = await startDevIssuer({
        ...opts,
        trustDomain: 'other.test',
        identities: [{ name: 'x', spiffeId: 'spiffe://other.test/x' }],
      });
      try {
        assert.notEqual(third.bundlePem(), bundle1);
        const ca = new X509Certificate(third.bundlePem());
        assert.match(ca.subjectAltName ?? '', /spiffe:\/\/other\.test/);
      } finally {
        await third.close();
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('regenerates a CA that is close to expiry', async () => {
    const tmp = fs.mkdtempSync('/tmp/spx-');
    try {
      const stateDir = path.join(tmp, 'state');
      const { createCa } = await import('@spike-ts/identity/mint');
      fs.mkdirSync(stateDir, { mode: 0o700 });
      const old = await createCa({ trustDomain: 'spike.ist', ttlMs: 60_000 });
      fs.writeFileSync(path.join(stateDir, 'ca.crt'), old.certPem);
      fs.writeFileSync(path.join(stateDir, 'ca.key'), old.keyPem, { mode: 0o600 });
      const issuer = await startDevIssuer({
        stateDir,
        socketDir: path.join(tmp, 's'),
        identities: IDENTITIES.slice(0, 1),
      });
      try {
        assert.notEqual(issuer.bundlePem(), old.certPem);
        assert.notEqual(fs.readFileSync(path.join(stateDir, 'ca.crt'), 'utf8'), old.certPem);
        assert.equal(fs.statSync(path.join(stateDir, 'ca.key')).mode & 0o777, 0o600);
      } finally {
        await issuer.close();
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
