import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundError } from '@spike-ts/core';
import { BadRequestError, InternalError } from '@spike-ts/protocol';
import { StoreClosedError, StoreIntegrityError, StoreLockedError } from '@spike-ts/store';
import { NotReadyError } from '../state.ts';
import { BodyReadError, BodyTooLargeError } from './body.ts';
import { toWireError } from './error-map.ts';

describe('toWireError', () => {
  it('maps every layer’s spine errors by their code', () => {
    const cases: [unknown, number, string, boolean][] = [
      [new BadRequestError('path: bad'), 400, 'api_bad_request', false],
      [new BodyReadError('aborted'), 400, 'api_bad_request', false],
      [new BodyTooLargeError(1), 413, 'api_body_too_large', false],
      [new NotFoundError('secret not found'), 404, 'api_not_found', false],
      [new NotReadyError(), 503, 'state_not_ready', false],
      [new StoreLockedError(), 503, 'state_not_ready', false],
      [new InternalError('decryption failed'), 500, 'api_internal_error', true],
      [new StoreIntegrityError('table secrets: row 1'), 500, 'api_internal_error', true],
      [new StoreClosedError(), 500, 'api_internal_error', true],
      [new Error('boom'), 500, 'api_internal_error', true],
    ];
    for (const [err, status, code, internal] of cases) {
      assert.deepEqual(toWireError(err), { status, code, internal }, String(err));
    }
  });
});
