import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_SPIFFE_ID_BYTES,
  SPIFFE_ID_ERRORS,
  SpiffeIdError,
  isValidSpiffeId,
  isValidTrustDomain,
  makeSpiffeId,
  parseSpiffeId,
  parseTrustDomain,
  trustDomainId,
} from './spiffe-id.ts';

function rejects(input: string, message: string): void {
  assert.throws(
    () => parseSpiffeId(input),
    (err: unknown) => err instanceof SpiffeIdError && err.message === message,
    `expected ${JSON.stringify(input.slice(0, 80))} to be rejected with "${message}"`,
  );
}

describe('parseSpiffeId', () => {
  it('accepts the reference vectors', () => {
    const cases: [string, string, string][] = [
      ['spiffe://example.org', 'example.org', ''],
      ['spiffe://example.org/a/b', 'example.org', '/a/b'],
      ['spiffe://ex_am-ple.org/A.b_c-d', 'ex_am-ple.org', '/A.b_c-d'],
      ['spiffe://127.0.0.1/a', '127.0.0.1', '/a'],
      ['spiffe://spike.ist/spike/pilot/role/superuser', 'spike.ist', '/spike/pilot/role/superuser'],
      ['spiffe://a/...', 'a', '/...'],
      ['spiffe://a/.a/a./..b', 'a', '/.a/a./..b'],
    ];
    for (const [input, td, path] of cases) {
      const id = parseSpiffeId(input);
      assert.equal(id.trustDomain, td);
      assert.equal(id.path, path);
      assert.equal(id.toString(), input);
      assert.equal(String(id), input);
      assert.equal(JSON.stringify({ id }), JSON.stringify({ id: input }));
      assert.equal(isValidSpiffeId(input), true);
    }
  });

  it('rejects the reference vectors with go-spiffe messages', () => {
    rejects('spiffe://example.org/', SPIFFE_ID_ERRORS.trailingSlash);
    rejects('spiffe://Example.org/a', SPIFFE_ID_ERRORS.badTrustDomainChar);
    rejects('SPIFFE://example.org/a', SPIFFE_ID_ERRORS.wrongScheme);
    rejects('Spiffe://example.org/a', SPIFFE_ID_ERRORS.wrongScheme);
    rejects('spiffe://example.org/a//b', SPIFFE_ID_ERRORS.emptySegment);
    rejects('spiffe://example.org/a/../b', SPIFFE_ID_ERRORS.dotSegment);
    rejects('spiffe://example.org/a/./b', SPIFFE_ID_ERRORS.dotSegment);
    rejects('spiffe://example.org/a/..', SPIFFE_ID_ERRORS.dotSegment);
    rejects('spiffe://example.org/.', SPIFFE_ID_ERRORS.dotSegment);
    rejects('spiffe://example.org/a%20b', SPIFFE_ID_ERRORS.badPathSegmentChar);
    rejects('spiffe://example.org/a?x=1', SPIFFE_ID_ERRORS.badPathSegmentChar);
    rejects('spiffe://example.org/a#f', SPIFFE_ID_ERRORS.badPathSegmentChar);
    rejects('spiffe://user@example.org/a', SPIFFE_ID_ERRORS.badTrustDomainChar);
    rejects('spiffe://example.org:443/a', SPIFFE_ID_ERRORS.badTrustDomainChar);
    rejects('spiffe:///a', SPIFFE_ID_ERRORS.missingTrustDomain);
    rejects('spiffe://', SPIFFE_ID_ERRORS.missingTrustDomain);
    rejects('spiffe://[::1]/a', SPIFFE_ID_ERRORS.badTrustDomainChar);
    rejects('', SPIFFE_ID_ERRORS.empty);
    rejects('example.org/a', SPIFFE_ID_ERRORS.wrongScheme);
    rejects('spiffe:/example.org', SPIFFE_ID_ERRORS.wrongScheme);
    rejects('https://example.org/a', SPIFFE_ID_ERRORS.wrongScheme);
    rejects(' spiffe://example.org/a', SPIFFE_ID_ERRORS.wrongScheme);
    rejects('spiffe://example.org/a ', SPIFFE_ID_ERRORS.badPathSegmentChar);
    rejects('spiffe://example.org/a\nb', SPIFFE_ID_ERRORS.badPathSegmentChar);
    rejects('spiffe://example.org/a\\b', SPIFFE_ID_ERRORS.badPathSegmentChar);
    rejects('spiffe://example.org/a,b', SPIFFE_ID_ERRORS.badPathSegmentChar);
    rejects('spiffe://exämple.org/a', SPIFFE_ID_ERRORS.badTrustDomainChar);
    rejects('spiffe://example.org/ä', SPIFFE_ID_ERRORS.badPathSegmentChar);
    rejects('spiffe://example.org\u0000/a', SPIFFE_ID_ERRORS.badTrustDomainChar);
  });

  it('enforces the trust domain and total length limits', () => {
    const td255 = 'a'.repeat(255);
    assert.equal(parseSpiffeId(`spiffe://${td255}/x`).trustDomain, td255);
    rejects(`spiffe://${'a'.repeat(256)}/x`, SPIFFE_ID_ERRORS.trustDomainTooLong);

    const prefix = 'spiffe://example.org/';
    const maxId = prefix + 'p'.repeat(MAX_SPIFFE_ID_BYTES - prefix.length);
    assert.equal(maxId.length, 2048);
    assert.equal(parseSpiffeId(maxId).toString(), maxId);
    rejects(maxId + 'p', SPIFFE_ID_ERRORS.idTooLong);
    // A huge input is rejected without scanning character by character.
    rejects('spiffe://example.org/' + 'a/'.repeat(1_000_000), SPIFFE_ID_ERRORS.idTooLong);
  });

  it('returns frozen values', () => {
    const id = parseSpiffeId('spiffe://example.org/a');
    assert.ok(Object.isFrozen(id));
    assert.throws(() => {
      (id as { trustDomain: string }).trustDomain = 'evil.org';
    }, TypeError);
  });

  it('never throws anything but SpiffeIdError, and accepted IDs round-trip (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), (tail) => {
        const input = 'spiffe://' + tail;
        try {
          const id = parseSpiffeId(input);
          assert.equal(id.toString(), input);
          assert.ok(!id.path.endsWith('/'));
          assert.ok(!id.path.includes('//'));
        } catch (err) {
          assert.ok(err instanceof SpiffeIdError);
        }
      }),
    );
  });

  it('accepts every ID built from valid parts (property)', () => {
    const tdChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-_'.split(''));
    const segChar = fc.constantFrom(...'abcXYZ0129.-_'.split(''));
    const td = fc.string({ unit: tdChar, minLength: 1, maxLength: 40 });
    const segment = fc
      .string({ unit: segChar, minLength: 1, maxLength: 12 })
      .filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(td, fc.array(segment, { maxLength: 6 }), (t, segs) => {
        const path = segs.map((s) => '/' + s).join('');
        const id = parseSpiffeId(`spiffe://${t}${path}`);
        assert.equal(id.trustDomain, t);
        assert.equal(id.path, path);
      }),
    );
  });
});

describe('parseTrustDomain', () => {
  it('accepts a bare name or a trust-domain ID', () => {
    assert.equal(parseTrustDomain('spike.ist'), 'spike.ist');
    assert.equal(parseTrustDomain('spiffe://spike.ist'), 'spike.ist');
    assert.equal(parseTrustDomain('10.0.0.1'), '10.0.0.1');
    assert.equal(trustDomainId('spike.ist'), 'spiffe://spike.ist');
  });

  it('rejects bad names', () => {
    for (const bad of [
      '',
      'Spike.ist',
      'spike.ist/',
      'spiffe://spike.ist/a',
      'a b',
      'a,b',
      'a:1',
      'x'.repeat(256),
      'SPIFFE://a',
    ]) {
      assert.throws(() => parseTrustDomain(bad), SpiffeIdError, bad);
      assert.equal(isValidTrustDomain(bad), false);
    }
  });

  it('makeSpiffeId validates both parts', () => {
    assert.equal(makeSpiffeId('spike.ist', '/spike/nexus').toString(), 'spiffe://spike.ist/spike/nexus');
    assert.throws(() => makeSpiffeId('spike.ist', 'spike/nexus'), SpiffeIdError);
    assert.throws(() => makeSpiffeId('Spike.ist', '/a'), SpiffeIdError);
  });
});
