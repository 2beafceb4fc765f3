import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSecretKey } from 'node:crypto';
import { aesKeyObject, randomBytes } from './aead.ts';
import {
  associatedData,
  DecryptionError,
  ENVELOPE_VERSION,
  envelopeKeyId,
  openEnvelope,
  sealEnvelope,
} from './envelope.ts';

const HEADER = 5;
const NONCE = 12;
const TAG = 16;

/** Assert `fn` throws a DecryptionError and return its message. */
function decryptionFailure(fn: () => unknown): string {
  let message = '';
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DecryptionError, `expected DecryptionError, got ${String(err)}`);
    message = err.message;
    return true;
  });
  return message;
}

const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const keyIdArb = fc.nat({ max: 0xffff_ffff });

describe('sealEnvelope / openEnvelope', () => {
  it('round-trips random plaintexts and aad, with the documented layout', () => {
    fc.assert(
      fc.property(
        keyArb,
        keyIdArb,
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 64 }),
        (key, keyId, pt, aad) => {
          const env = sealEnvelope(key, keyId, pt, aad);
          assert.equal(env.byteLength, HEADER + NONCE + pt.byteLength + TAG);
          assert.equal(env[0], ENVELOPE_VERSION);
          assert.equal(Buffer.from(env.subarray(1, 5)).readUInt32BE(0), keyId);
          assert.equal(envelopeKeyId(env), keyId);
          assert.deepEqual(openEnvelope(key, env, aad), pt);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('rejects any single modified byte, in every region, with the same error', () => {
    const messages = new Set<string>();
    fc.assert(
      fc.property(
        keyArb,
        keyIdArb,
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ maxLength: 32 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (key, keyId, pt, aad, pos, delta) => {
          const env = sealEnvelope(key, keyId, pt, aad);
          const bad = env.slice();
          const i = pos % bad.length;
          bad[i] = (env[i]! + delta) % 256;
          messages.add(decryptionFailure(() => openEnvelope(key, bad, aad)));
        },
      ),
      { numRuns: 150 },
    );
    assert.deepEqual([...messages], ['decryption failed']);
  });

  it('covers version, key id, nonce, ciphertext and tag explicitly', () => {
    const key = randomBytes(32);
    const aad = associatedData('secret-version', 'a/b', '1');
    const env = sealEnvelope(key, 7, new TextEncoder().encode('top secret'), aad);
    const regions = {
      version: 0,
      keyIdFirst: 1,
      keyIdLast: 4,
      nonce: HEADER + 3,
      ciphertext: HEADER + NONCE + 2,
      tag: env.length - 1,
    };
    const messages = new Set<string>();
    for (const [region, index] of Object.entries(regions)) {
      const bad = env.slice();
      bad[index] = bad[index]! ^ 0x01;
      messages.add(decryptionFailure(() => openEnvelope(key, bad, aad)));
      assert.ok(messages.size === 1, `region ${region}`);
    }
    // A key id edited to another valid id is detected too (the key id is authenticated).
    const otherId = env.slice();
    otherId.set([0, 0, 0, 8], 1);
    assert.equal(envelopeKeyId(otherId), 8);
    messages.add(decryptionFailure(() => openEnvelope(key, otherId, aad)));
    assert.deepEqual([...messages], ['decryption failed']);
  });

  it('rejects a different aad, a wrong key and truncation with the same error', () => {
    fc.assert(
      fc.property(keyArb, fc.uint8Array({ maxLength: 64 }), fc.string(), fc.nat(), (key, pt, where, cut) => {
        const aad = associatedData('secret', where);
        const env = sealEnvelope(key, 1, pt, aad);
        const messages = new Set<string>([
          decryptionFailure(() => openEnvelope(key, env, associatedData('secret', where + 'x'))),
          decryptionFailure(() => openEnvelope(key, env, new Uint8Array(0))),
          decryptionFailure(() => openEnvelope(randomBytes(32), env, aad)),
          decryptionFailure(() => openEnvelope(key, env.subarray(0, cut % env.length), aad)),
        ]);
        assert.deepEqual([...messages], ['decryption failed']);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects an envelope with extra bytes appended', () => {
    const key = randomBytes(32);
    const env = sealEnvelope(key, 1, Uint8Array.of(1, 2, 3), new Uint8Array(0));
    decryptionFailure(() => openEnvelope(key, Uint8Array.of(...env, 0), new Uint8Array(0)));
  });

  it('uses a fresh nonce for every seal', () => {
    const key = randomBytes(32);
    const pt = new TextEncoder().encode('same plaintext');
    const a = sealEnvelope(key, 1, pt, new Uint8Array(0));
    const b = sealEnvelope(key, 1, pt, new Uint8Array(0));
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(a.subarray(HEADER, HEADER + NONCE), b.subarray(HEADER, HEADER + NONCE));
  });

  it('validates the key id and key size when sealing', () => {
    const key = randomBytes(32);
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      assert.throws(() => sealEnvelope(key, bad, new Uint8Array(0), new Uint8Array(0)), RangeError);
    }
    assert.throws(() => sealEnvelope(randomBytes(16), 1, new Uint8Array(0), new Uint8Array(0)), RangeError);
  });
});

describe('envelopeKeyId', () => {
  it('throws DecryptionError for malformed envelopes', () => {
    const env = sealEnvelope(randomBytes(32), 42, new Uint8Array(0), new Uint8Array(0));
    assert.equal(envelopeKeyId(env), 42);
    decryptionFailure(() => envelopeKeyId(env.subarray(0, HEADER + NONCE + TAG - 1)));
    const wrongVersion = env.slice();
    wrongVersion[0] = 2;
    decryptionFailure(() => envelopeKeyId(wrongVersion));
    decryptionFailure(() => envelopeKeyId(new Uint8Array(0)));
  });

  it('reads the key id from a subarray view correctly', () => {
    const env = sealEnvelope(randomBytes(32), 0x01020304, new Uint8Array(0), new Uint8Array(0));
    const padded = new Uint8Array(env.length + 3);
    padded.set(env, 3);
    assert.equal(envelopeKeyId(padded.subarray(3)), 0x01020304);
  });
});

describe('associatedData', () => {
  it('is unambiguous across part boundaries and types', () => {
    const enc = (...p: (string | Uint8Array)[]): string => Buffer.from(associatedData(...p)).toString('hex');
    assert.notEqual(enc('ab', 'c'), enc('a', 'bc'));
    assert.notEqual(enc('a', ''), enc('a'));
    assert.notEqual(enc(''), enc());
    assert.equal(enc('x'), enc(Uint8Array.of(0x78)));
    assert.equal(enc('é', Uint8Array.of(1)), '00000002c3a9' + '0000000101');
  });

  it('is injective on random part lists', () => {
    const parts = fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.uint8Array({ maxLength: 5 })), {
      maxLength: 4,
    });
    const norm = (p: (string | Uint8Array)[]): string =>
      JSON.stringify(
        p.map((x) => Buffer.from(typeof x === 'string' ? Buffer.from(x, 'utf8') : x).toString('hex')),
      );
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        const same = Buffer.from(associatedData(...a)).equals(associatedData(...b));
        assert.equal(same, norm(a) === norm(b));
      }),
    );
  });
});

describe('associatedData composition', () => {
  it('of a list equals the concatenation of its split halves (callers may precompute a prefix)', () => {
    const parts = fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.uint8Array({ maxLength: 5 })), {
      maxLength: 6,
    });
    fc.assert(
      fc.property(parts, fc.nat(), (p, cut) => {
        const at = p.length === 0 ? 0 : cut % (p.length + 1);
        const whole = Buffer.from(associatedData(...p));
        const joined = Buffer.concat([associatedData(...p.slice(0, at)), associatedData(...p.slice(at))]);
        assert.ok(whole.equals(joined));
      }),
    );
  });
});

describe('envelope with KeyObject keys', () => {
  it('is the same format as with raw key bytes, in both directions', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.uint8Array({ maxLength: 64 }), (plaintext, aad) => {
        const raw = randomBytes(32);
        const keyObject = aesKeyObject(raw);
        assert.deepEqual(openEnvelope(raw, sealEnvelope(keyObject, 7, plaintext, aad), aad), plaintext);
        assert.deepEqual(openEnvelope(keyObject, sealEnvelope(raw, 7, plaintext, aad), aad), plaintext);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects keys that are not 32 bytes, raw or as KeyObject', () => {
    assert.throws(() => aesKeyObject(new Uint8Array(16)), RangeError);
    assert.throws(
      () =>
        sealEnvelope(createSecretKey(new Uint8Array(16).fill(1)), 1, new Uint8Array(1), new Uint8Array(0)),
      RangeError,
    );
  });

  it('fails opaquely with a wrong KeyObject', () => {
    const sealed = sealEnvelope(
      aesKeyObject(randomBytes(32)),
      1,
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
    );
    assert.throws(
      () => openEnvelope(aesKeyObject(randomBytes(32)), sealed, new Uint8Array(0)),
      DecryptionError,
    );
  });
});
