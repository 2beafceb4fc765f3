import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes, sealEnvelope, associatedData } from '@spike-ts/core';
import { samplePolicy, T0 } from './contract-fixture.ts';
import { createRowCodec, UnknownKeyGenerationError, STORAGE_KEY_ID } from './row-codec.ts';
import { StoreIntegrityError } from './store-error.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('row codec', () => {
  it('derives stable, keyed, domain-separated lookup ids', () => {
    const key = randomBytes(32);
    const a = createRowCodec(key);
    const b = createRowCodec(Uint8Array.from(key));
    const other = createRowCodec(randomBytes(32));
    assert.equal(a.pathId('x').length, 32);
    assert.equal(hex(a.pathId('x')), hex(b.pathId('x')));
    assert.notEqual(hex(a.pathId('x')), hex(a.pathId('y')));
    assert.notEqual(hex(a.pathId('x')), hex(other.pathId('x')));
    assert.notEqual(hex(a.pathId('x')), hex(a.nameId('x')));
  });

  it('round-trips rows and binds each to its place', () => {
    const codec = createRowCodec(randomBytes(32));
    const id = codec.pathId('p');
    const version = { version: 2, data: { k: 'v' }, createdTime: T0, deletedTime: null };
    const env = codec.sealVersion(id, version);
    assert.deepEqual(codec.openVersion(id, 2, env), version);
    assert.throws(() => codec.openVersion(id, 3, env), StoreIntegrityError);
    assert.throws(() => codec.openVersion(codec.pathId('q'), 2, env), StoreIntegrityError);
    const head = {
      path: 'p',
      metadata: { currentVersion: 2, oldestVersion: 2, createdTime: T0, updatedTime: T0, maxVersions: 10 },
      versions: [2],
    };
    const headEnv = codec.sealHead(id, head);
    assert.deepEqual(codec.openHead(id, headEnv), head);
    assert.throws(
      () => codec.openVersion(id, 2, headEnv),
      StoreIntegrityError,
      'a head row is not a version row',
    );
    const policy = samplePolicy('pol');
    const nid = codec.nameId('pol');
    assert.deepEqual(codec.openPolicy(nid, codec.sealPolicy(nid, policy)), policy);
    assert.throws(
      () => codec.openPolicy(codec.nameId('other'), codec.sealPolicy(nid, policy)),
      StoreIntegrityError,
    );
  });

  it('seals with a fresh nonce every time', () => {
    const codec = createRowCodec(randomBytes(32));
    const id = codec.pathId('p');
    const version = { version: 1, data: { k: 'v' }, createdTime: T0, deletedTime: null };
    assert.notEqual(hex(codec.sealVersion(id, version)), hex(codec.sealVersion(id, version)));
  });

  it('refuses envelopes of another key generation or key', () => {
    const key = randomBytes(32);
    const codec = createRowCodec(key);
    const id = codec.pathId('p');
    const forged = sealEnvelope(
      randomBytes(32),
      STORAGE_KEY_ID + 1,
      new Uint8Array([123, 125]),
      associatedData('x'),
    );
    assert.throws(() => codec.openVersion(id, 1, forged), UnknownKeyGenerationError);
    const older = sealEnvelope(randomBytes(32), 0, new Uint8Array([123, 125]), associatedData('x'));
    assert.throws(() => codec.openVersion(id, 1, older), /unknown key id/);
    const wrongKey = createRowCodec(randomBytes(32));
    const version = { version: 1, data: {}, createdTime: T0, deletedTime: null };
    assert.throws(() => codec.openVersion(id, 1, wrongKey.sealVersion(id, version)), StoreIntegrityError);
  });

  it('is unusable after destroy', () => {
    const codec = createRowCodec(randomBytes(32));
    codec.destroy();
    assert.throws(() => codec.pathId('p'), /destroyed/);
    assert.throws(() => codec.sealPolicy(new Uint8Array(32), samplePolicy('p')), /destroyed/);
  });
});
