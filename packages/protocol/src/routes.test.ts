import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { joinUrl, URL_KEEPER_SHARD, URL_SECRETS } from './routes.ts';

describe('joinUrl', () => {
  it('joins a base without and with trailing slashes and an API path', () => {
    assert.equal(joinUrl('https://nexus:8553', URL_SECRETS), 'https://nexus:8553/v1/store/secrets');
    assert.equal(joinUrl('https://nexus:8553/', URL_SECRETS), 'https://nexus:8553/v1/store/secrets');
    assert.equal(joinUrl('https://k:8443///', URL_KEEPER_SHARD), 'https://k:8443/v1/store/shard');
  });

  it('keeps a path prefix of the base', () => {
    assert.equal(joinUrl('https://lb/spike/', URL_SECRETS), 'https://lb/spike/v1/store/secrets');
  });

  it('with an empty path trims the base only, and leaves inner slashes alone', () => {
    assert.equal(joinUrl('https://lb//a//', ''), 'https://lb//a');
    assert.equal(joinUrl('////', ''), '');
    assert.equal(joinUrl('', URL_SECRETS), URL_SECRETS);
  });

  it('runs in linear time on a long run of slashes not at the end', () => {
    const base = 'https://x' + '/'.repeat(200_000) + 'y';
    assert.equal(joinUrl(base, ''), base);
  });
});
