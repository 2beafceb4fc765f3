import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SpikeBadRequestError,
  SpikeBodyTooLargeError,
  SpikeConnectionError,
  SpikeError,
  SpikeInternalError,
  SpikeNotFoundError,
  SpikeNotReadyError,
  SpikeRateLimitedError,
  SpikeOutcomeUnknownError,
  SpikeUnauthorizedError,
  errorFromWire,
  isSpikeError,
} from './spike-error.ts';

describe('errorFromWire', () => {
  const table = [
    ['api_not_found', 404, SpikeNotFoundError],
    ['access_unauthorized', 401, SpikeUnauthorizedError],
    ['api_bad_request', 400, SpikeBadRequestError],
    ['state_not_ready', 503, SpikeNotReadyError],
    ['api_body_too_large', 413, SpikeBodyTooLargeError],
    ['api_internal_error', 500, SpikeInternalError],
    ['api_rate_limited', 429, SpikeRateLimitedError],
    ['api_outcome_unknown', 500, SpikeOutcomeUnknownError],
  ] as const;

  for (const [code, status, cls] of table) {
    it(`maps ${code} to ${cls.name} with code and status`, () => {
      const err = errorFromWire(status, code);
      assert.ok(err instanceof cls);
      assert.equal(err.code, code);
      assert.equal(err.status, status);
      assert.ok(isSpikeError(err));
    });
  }

  it('uses the code, not the status, when both are present', () => {
    const err = errorFromWire(400, 'api_not_found');
    assert.equal(err.code, 'api_not_found');
    assert.equal(err.status, 400);
  });

  it('maps an unknown code to code unknown, keeping the status and the raw code', () => {
    const err = errorFromWire(418, 'teapot_error');
    assert.equal(err.constructor, SpikeError);
    assert.equal(err.code, 'unknown');
    assert.equal(err.status, 418);
    assert.equal(err.wireCode, 'teapot_error');
  });

  it('does not keep a non-code-shaped string (could be anything)', () => {
    const err = errorFromWire(500, 'some <html> body with secrets');
    assert.equal(err.code, 'unknown');
    assert.equal(err.wireCode, undefined);
    assert.ok(!err.message.includes('secrets'));
  });

  it('falls back to the status when there is no code (plain-text stream errors)', () => {
    const err = errorFromWire(400, undefined, 'crypto_unsupported_version\n');
    assert.ok(err instanceof SpikeBadRequestError);
    assert.equal(err.wireCode, 'crypto_unsupported_version');
    assert.equal(errorFromWire(503, '').code, 'state_not_ready');
    assert.equal(errorFromWire(403, undefined).code, 'access_unauthorized');
  });

  it('gives unknown for a status without a known mapping', () => {
    const err = errorFromWire(502, undefined);
    assert.equal(err.code, 'unknown');
    assert.equal(err.status, 502);
  });
});

describe('isSpikeError', () => {
  it('recognises every SDK error and nothing else', () => {
    assert.ok(isSpikeError(new SpikeConnectionError('https://x:1', 'down')));
    assert.ok(isSpikeError(new SpikeError('unknown', 0, 'x')));
    assert.equal(isSpikeError(new Error('x')), false);
    assert.equal(isSpikeError(null), false);
    assert.equal(isSpikeError({ code: 'api_not_found', status: 404 }), false);
  });

  it('uses a Symbol.for brand, so a copy from another SDK instance still matches', () => {
    const foreign = Object.assign(new Error('x'), { code: 'api_not_found', status: 404 });
    Object.defineProperty(foreign, Symbol.for('spike-ts.sdk.SpikeError'), { value: true });
    assert.ok(isSpikeError(foreign));
  });

  it('SpikeConnectionError carries the URL and the cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new SpikeConnectionError('https://127.0.0.1:9', 'down', cause);
    assert.equal(err.url, 'https://127.0.0.1:9');
    assert.equal(err.code, 'nexus_unreachable');
    assert.equal(err.status, 0);
    assert.equal(err.cause, cause);
  });
});
