import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type ApiError,
  BadRequestError,
  BodyTooLargeError,
  InternalError,
  isApiError,
  NotFoundError,
  NotReadyError,
  PlainTextError,
  StreamErrorCode,
  wireCodeOf,
} from './api-error.ts';
import { ERROR_CODES } from './error-code.ts';

describe('error spine', () => {
  it('each class answers its own code with the status of that code', () => {
    const cases: [ApiError, string, number][] = [
      [new BadRequestError('path: bad'), 'api_bad_request', 400],
      [new NotFoundError(), 'api_not_found', 404],
      [new NotReadyError(), 'state_not_ready', 503],
      [new BodyTooLargeError(10), 'api_body_too_large', 413],
      [new InternalError('decryption failed'), 'api_internal_error', 500],
    ];
    for (const [err, code, status] of cases) {
      assert.ok(isApiError(err), err.name);
      assert.equal(err.code, code);
      assert.equal(err.status, status);
      assert.equal(ERROR_CODES[err.code].status, status);
      assert.equal(wireCodeOf(err), code);
      assert.ok(err instanceof Error);
    }
  });

  it('subclasses in lower layers keep their parent code', () => {
    class StoreLocked extends NotReadyError {
      override readonly name: string = 'StoreLocked';
    }
    class BodyRead extends BadRequestError {}
    assert.equal(wireCodeOf(new StoreLocked()), 'state_not_ready');
    assert.equal(wireCodeOf(new BodyRead('aborted')), 'api_bad_request');
  });

  it('anything that is not a spine error is a server fault', () => {
    for (const thrown of [
      new Error('boom'),
      new TypeError('x is undefined'),
      Object.assign(new Error('looks coded'), { code: 'api_bad_request' }),
      { code: 'api_not_found' },
      'api_bad_request',
      null,
      undefined,
      new PlainTextError(StreamErrorCode.DecryptionFailed),
    ]) {
      assert.equal(isApiError(thrown), false);
      assert.equal(wireCodeOf(thrown), 'api_internal_error');
    }
  });

  it('keeps the detail for logs and the cause', () => {
    const cause = new Error('inner');
    const err = new BadRequestError('name: too long', { cause });
    assert.equal(err.detail, 'name: too long');
    assert.equal(err.message, 'name: too long');
    assert.equal(err.cause, cause);
  });

  it('stream errors are plain text with status 400', () => {
    const err = new PlainTextError(StreamErrorCode.UnsupportedVersion);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'crypto_unsupported_version');
  });
});
