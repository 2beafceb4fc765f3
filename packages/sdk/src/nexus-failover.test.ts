import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MtlsConnectionError, MtlsTimeoutError } from '@spike-ts/identity/client';
import {
  FAILED_URL_COOLDOWN_MS,
  NexusUrlRotation,
  answerMovesOn,
  failedBeforeSending,
} from './nexus-failover.ts';

const [A, B, C] = ['https://a:1', 'https://b:1', 'https://c:1'];

describe('NexusUrlRotation', () => {
  it('starts with the first URL, keeps the list order, and sticks to the URL that answered', () => {
    const r = new NexusUrlRotation([A, B, C], () => 0);
    assert.equal(r.current, A);
    assert.deepEqual(r.order(), [A, B, C]);
    r.succeeded(C);
    assert.equal(r.current, C);
    assert.deepEqual(r.order(), [C, A, B]);
  });

  it('tries a URL that failed lately last, then normally again after the cool-down', () => {
    let now = 1_000;
    const r = new NexusUrlRotation([A, B, C], () => now);
    r.failed(A);
    now += 1;
    r.failed(B);
    assert.deepEqual(r.order(), [C, A, B]);
    now += FAILED_URL_COOLDOWN_MS;
    assert.deepEqual(r.order(), [A, B, C]);
    r.failed(B);
    r.succeeded(C);
    assert.deepEqual(r.order(), [C, A, B]);
    r.succeeded(B);
    assert.deepEqual(r.order(), [B, A, C]);
  });

  it('needs at least one URL', () => {
    assert.throws(() => new NexusUrlRotation([]), RangeError);
  });
});

describe('answerMovesOn', () => {
  it('moves on after 503 only (nothing changed); 500, including api_outcome_unknown, is final', () => {
    assert.equal(answerMovesOn(503), true);
    for (const status of [200, 400, 401, 404, 413, 429, 500, 502, 504])
      assert.equal(answerMovesOn(status), false);
  });
});

describe('failedBeforeSending', () => {
  it('trusts what the mTLS client knows about the connection', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const sent = new MtlsConnectionError(A, reset);
    sent.requestSent = true;
    assert.equal(failedBeforeSending(sent), false);
    const refused = new MtlsConnectionError(A, Object.assign(new Error('x'), { code: 'ECONNREFUSED' }));
    refused.requestSent = false;
    assert.equal(failedBeforeSending(refused), true);
    const connectTimeout = new MtlsTimeoutError(A, 10);
    connectTimeout.requestSent = false;
    assert.equal(failedBeforeSending(connectTimeout), true);
    const lateTimeout = new MtlsTimeoutError(A, 10);
    lateTimeout.requestSent = true;
    assert.equal(failedBeforeSending(lateTimeout), false);
  });

  it('otherwise goes by the error code: refused/unroutable/TLS yes, reset or unknown no', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    for (const code of [
      'ECONNREFUSED',
      'ENOTFOUND',
      'EHOSTUNREACH',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'CERT_HAS_EXPIRED',
    ]) {
      assert.equal(failedBeforeSending(coded(code)), true, code);
      assert.equal(failedBeforeSending(new MtlsConnectionError(A, coded(code))), true, code);
    }
    for (const code of ['ECONNRESET', 'EPIPE', 'ETIMEDOUT']) {
      assert.equal(failedBeforeSending(coded(code)), false, code);
    }
    assert.equal(failedBeforeSending(new Error('socket hang up')), false);
    assert.equal(failedBeforeSending(undefined), false);
  });
});
