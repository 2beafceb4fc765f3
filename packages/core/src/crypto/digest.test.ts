import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aesKeyObject } from './aead.ts';
import { hmacSha256, randomUuid, sha256Hex } from './digest.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('digest helpers', () => {
  it('sha256Hex matches the FIPS 180-2 "abc" vector for a string and for bytes', () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    assert.equal(sha256Hex('abc'), abc);
    assert.equal(sha256Hex(new TextEncoder().encode('abc')), abc);
    assert.equal(sha256Hex('é'), sha256Hex(Buffer.from([0xc3, 0xa9])), 'strings hash as UTF-8');
  });

  it('hmacSha256 matches RFC 4231 test case 2, split into parts, with raw and KeyObject keys', () => {
    const expected = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
    const key = new TextEncoder().encode('Jefe');
    assert.equal(hex(hmacSha256(key, ['what do ya want ', 'for nothing?'])), expected);
    const key32 = new Uint8Array(32).fill(7);
    assert.equal(
      hex(hmacSha256(aesKeyObject(key32), ['a', new Uint8Array([0x62])])),
      hex(hmacSha256(key32, ['ab'])),
    );
    assert.notEqual(hex(hmacSha256(key32, ['ab'])), hex(hmacSha256(key32, ['ac'])));
  });

  it('randomUuid returns distinct version 4 UUIDs', () => {
    const a = randomUuid();
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(a, randomUuid());
  });
});
