/**
 * Secret keys and policy names that are also names of JavaScript object members (`__proto__`,
 * `constructor`, `toString`, ...). SPIKE stores them, so they must survive a migration: every
 * one is stored, read back exactly, listed and reported in metadata, over real mTLS and a real
 * SQLite store, and nothing reaches `Object.prototype` on the way.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createStaticX509Source } from '@spike-ts/identity';
import { bundlesFromCas, issueSvid, svidFromMinted } from '@spike-ts/identity/mint';
import { createSpikeClient, type SpikeClient } from '@spike-ts/sdk';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

const SECRETS = '/v1/store/secrets';
const MEMBER_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];

/** Every key of `Object.prototype` and what it holds, to prove nothing was added or replaced. */
function prototypeSnapshot(): [string | symbol, unknown][] {
  return Reflect.ownKeys(Object.prototype).map((k) => [
    k,
    Object.getOwnPropertyDescriptor(Object.prototype, k),
  ]);
}

describe('object member names as secret keys and policy names', () => {
  let pki: Pki;
  let t: TestNexus;
  let send: (path: string, body: unknown) => Promise<Reply>;
  let sdk: SpikeClient;
  const pristine = prototypeSnapshot();

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { backend: 'sqlite' });
    const c = client(t, pki);
    const superuser = await pki.cert(ID.superuser);
    send = (path, body) => c({ path, body, client: superuser });
    const svid = await issueSvid(pki.ca, { spiffeId: ID.superuser });
    sdk = await createSpikeClient({
      source: createStaticX509Source(svidFromMinted(svid), bundlesFromCas([pki.ca])),
      nexusUrl: `https://127.0.0.1:${t.port}`,
      env: {},
    });
  });
  after(async () => {
    await sdk?.close();
    await t?.close();
  });

  it('stores, reads back exactly, lists and describes a secret with such keys (raw requests)', async () => {
    // Written as text so the keys reach Nexus exactly as a Go client sends them.
    const values =
      '{"__proto__":"x","constructor":"y","toString":"z","prototype":"p","valueOf":"v","k":"plain"}';
    let r = await send(SECRETS, `{"path":"proto/raw","values":${values}}`);
    assert.equal(r.status, 200, r.text);
    r = await send(`${SECRETS}?action=get`, { path: 'proto/raw' });
    assert.equal(r.status, 200);
    assert.equal(r.text, `{"data":${values}}`);

    // A second version with a nested-looking value; the first stays readable by number.
    r = await send(SECRETS, '{"path":"proto/raw","values":{"__proto__":"{\\"polluted\\":true}"}}');
    assert.equal(r.status, 200, r.text);
    r = await send(`${SECRETS}?action=get`, { path: 'proto/raw' });
    assert.equal(r.text, '{"data":{"__proto__":"{\\"polluted\\":true}"}}');
    r = await send(`${SECRETS}?action=get`, { path: 'proto/raw', version: 1 });
    assert.equal(r.text, `{"data":${values}}`);

    r = await send(`${SECRETS}?action=list`, {});
    assert.ok((r.json()['keys'] as string[]).includes('proto/raw'));
    r = await send('/v1/store/secrets/metadata?action=get', { path: 'proto/raw' });
    assert.equal(r.status, 200);
    const meta = r.json() as { versions: Record<string, unknown>; metadata: { currentVersion: number } };
    assert.deepEqual(Object.keys(meta.versions), ['1', '2']);
    assert.equal(meta.metadata.currentVersion, 2);

    // An object (not a string) under `__proto__` is still a bad value, as in SPIKE (map[string]string).
    r = await send(SECRETS, '{"path":"proto/obj","values":{"__proto__":{"polluted":true}}}');
    assert.equal(r.status, 400);
    assert.deepEqual(prototypeSnapshot(), pristine);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('round-trips such keys through the SDK', async () => {
    const values: Record<string, string> = {};
    for (const name of MEMBER_NAMES) {
      Object.defineProperty(values, name, { value: `v-${name}`, enumerable: true, writable: true });
    }
    await sdk.putSecret('proto/sdk', values);
    const got = await sdk.getSecret('proto/sdk');
    assert.deepEqual(Object.entries(got), Object.entries(values));
    assert.equal(Object.getPrototypeOf(got), Object.prototype);
    assert.ok(Object.hasOwn(got, '__proto__'));
    assert.ok((await sdk.listSecrets()).includes('proto/sdk'));
    const meta = await sdk.getSecretMetadata('proto/sdk');
    assert.equal(meta.metadata.currentVersion, 1);
    assert.deepEqual(prototypeSnapshot(), pristine);
  });

  it('accepts such names as policy names: upsert, get, list, delete', async () => {
    for (const name of MEMBER_NAMES) {
      await sdk.putPolicy({
        name,
        spiffeIdPattern: '^spiffe://spike\\.ist/workload/reader$',
        pathPattern: `^proto/${name}$`,
        permissions: ['read'],
      });
    }
    for (const name of MEMBER_NAMES) {
      const p = await sdk.getPolicy(name);
      assert.equal(p.name, name);
      assert.equal(p.pathPattern, `^proto/${name}$`);
    }
    const listed = (await sdk.listPolicies()).map((p) => p.name);
    for (const name of MEMBER_NAMES) assert.ok(listed.includes(name), name);

    // The reader gets exactly what the policy named `constructor` grants.
    await sdk.putSecret('proto/constructor', { k: 'v' });
    const reader = await pki.cert(ID.reader);
    const c = client(t, pki);
    let r = await c({ path: `${SECRETS}?action=get`, body: { path: 'proto/constructor' }, client: reader });
    assert.equal(r.status, 200);
    await sdk.deletePolicy('constructor');
    await assert.rejects(sdk.getPolicy('constructor'), { code: 'api_not_found' });
    r = await c({ path: `${SECRETS}?action=get`, body: { path: 'proto/constructor' }, client: reader });
    assert.equal(r.status, 401);

    for (const name of MEMBER_NAMES.filter((n) => n !== 'constructor')) await sdk.deletePolicy(name);
    assert.deepEqual(
      (await sdk.listPolicies()).filter((p) => MEMBER_NAMES.includes(p.name)),
      [],
    );
    assert.deepEqual(prototypeSnapshot(), pristine);
  });
});
