import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  associatedData,
  DecryptionError,
  envelopeKeyId,
  openEnvelope,
  randomBytes,
  sealEnvelope,
} from '@spike-ts/core';
import { openWithKey, sealWithKey, secretKeyObject } from './keyed-envelope.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('keyed envelope', () => {
  it('is byte-compatible with the core envelope in both directions', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 2048 }),
        fc.uint8Array({ minLength: 0, maxLength: 128 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (plaintext, aad, keyId) => {
          const raw = randomBytes(32);
          const key = secretKeyObject(raw);
          const ours = sealWithKey(key, keyId, plaintext, aad);
          assert.equal(envelopeKeyId(ours), keyId);
          assert.equal(hex(openEnvelope(raw, ours, aad)), hex(plaintext));
          const theirs = sealEnvelope(raw, keyId, plaintext, aad);
          assert.equal(ours.length, theirs.length);
          assert.equal(hex(openWithKey(key, theirs, aad)), hex(plaintext));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('uses a fresh nonce for every seal, across refills of the nonce pool', () => {
    const key = secretKeyObject(randomBytes(32));
    const nonces = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const env = sealWithKey(key, 1, new Uint8Array([1, 2, 3]), associatedData('x'));
      const nonce = env.subarray(5, 17);
      assert.ok(
        nonce.some((b) => b !== 0),
        'a nonce is never the zeroed leftover of the pool',
      );
      nonces.add(hex(nonce));
    }
    assert.equal(nonces.size, 1000);
  });

  it('rejects a modified byte, other associated data, another key and short input', () => {
    const raw = randomBytes(32);
    const key = secretKeyObject(raw);
    const aad = associatedData('secrets', 'head', 'p');
    const env = sealWithKey(key, 7, new TextEncoder().encode('{"p":"x"}'), aad);
    for (let i = 0; i < env.length; i++) {
      const bad = Uint8Array.from(env);
      bad[i] = (bad[i] as number) ^ 0x01;
      assert.throws(() => openWithKey(key, bad, aad), DecryptionError, `byte ${String(i)}`);
    }
    assert.throws(() => openWithKey(key, env, associatedData('secrets', 'head', 'q')), DecryptionError);
    assert.throws(() => openWithKey(secretKeyObject(randomBytes(32)), env, aad), DecryptionError);
    assert.throws(() => openWithKey(key, env.subarray(0, 32), aad), DecryptionError);
    assert.throws(() => openWithKey(key, new Uint8Array(0), aad), DecryptionError);
  });

  it('refuses keys of the wrong size and out-of-range key ids', () => {
    assert.throws(() => secretKeyObject(new Uint8Array(16)), RangeError);
    const key = secretKeyObject(randomBytes(32));
    assert.throws(() => sealWithKey(key, -1, new Uint8Array(1), new Uint8Array(0)), RangeError);
    assert.throws(() => sealWithKey(key, 2 ** 32, new Uint8Array(1), new Uint8Array(0)), RangeError);
  });

  it('copies the key: zeroing the raw bytes afterwards changes nothing', () => {
    const raw = randomBytes(32);
    const copy = Uint8Array.from(raw);
    const key = secretKeyObject(raw);
    raw.fill(0);
    const env = sealWithKey(key, 1, new Uint8Array([42]), new Uint8Array(0));
    assert.deepEqual([...openEnvelope(copy, env, new Uint8Array(0))], [42]);
  });
});
