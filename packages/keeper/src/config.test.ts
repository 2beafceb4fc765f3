import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeeperConfigError, loadKeeperConfig, parseListenAddress } from './config.ts';

describe('keeper config', () => {
  it("defaults to SPIKE's :8443 on all interfaces, WARN logs and a 10 s header timeout", () => {
    const c = loadKeeperConfig({});
    assert.equal(c.host, undefined);
    assert.equal(c.port, 8443);
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.headersTimeoutMs, 10_000);
  });

  it('reads the listen address, log level, header timeout and trust roots', () => {
    const c = loadKeeperConfig({
      SPIKE_KEEPER_TLS_PORT: '127.0.0.1:9443',
      SPIKE_SYSTEM_LOG_LEVEL: 'DEBUG',
      SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: '2s',
      SPIKE_TRUST_ROOT_NEXUS: 'example.org',
    });
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 9443);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.headersTimeoutMs, 2000);
    assert.deepEqual(c.trustRoots.nexus, ['example.org']);
  });

  it('parses the address forms SPIKE accepts', () => {
    assert.deepEqual(parseListenAddress(':8443', 'X'), { host: undefined, port: 8443 });
    assert.deepEqual(parseListenAddress('8443', 'X'), { host: undefined, port: 8443 });
    assert.deepEqual(parseListenAddress('localhost:1', 'X'), { host: 'localhost', port: 1 });
    assert.deepEqual(parseListenAddress('[::1]:0', 'X'), { host: '::1', port: 0 });
  });

  it('rejects bad values naming the variable', () => {
    for (const value of [':99999', 'host:', ':http', '::1:80', '[::1]80', '']) {
      assert.throws(
        () => parseListenAddress(value, 'SPIKE_KEEPER_TLS_PORT'),
        (err: unknown) => err instanceof KeeperConfigError && /^SPIKE_KEEPER_TLS_PORT/.test(err.message),
        JSON.stringify(value),
      );
    }
    assert.throws(
      () => loadKeeperConfig({ SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: 'ten' }),
      /SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT/,
    );
    assert.throws(() => loadKeeperConfig({ SPIKE_TRUST_ROOT_KEEPER: 'a,,b' }), KeeperConfigError);
  });

  it('refuses an unknown log level and an out-of-range header timeout, naming the variable', () => {
    assert.throws(
      () => loadKeeperConfig({ SPIKE_SYSTEM_LOG_LEVEL: 'LOUD' }),
      (err: unknown) => {
        assert.ok(err instanceof KeeperConfigError);
        assert.match(err.message, /^SPIKE_SYSTEM_LOG_LEVEL: must be one of DEBUG, INFO, WARN, ERROR$/);
        return true;
      },
    );
    for (const bad of ['0s', '-5s', '99ms', '11m']) {
      assert.throws(
        () => loadKeeperConfig({ SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: bad }),
        /SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: must be a duration from 100ms to 10m$/,
      );
    }
  });

  it('reports every invalid variable at once', () => {
    assert.throws(
      () =>
        loadKeeperConfig({
          SPIKE_KEEPER_TLS_PORT: ':99999',
          SPIKE_SYSTEM_LOG_LEVEL: 'LOUD',
          SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: '1h',
          SPIKE_TRUST_ROOT_NEXUS: 'a,,b',
        }),
      (err: unknown) =>
        err instanceof KeeperConfigError &&
        err.problems.map((p) => p.variable).join(' ') ===
          'SPIKE_KEEPER_TLS_PORT SPIKE_TRUST_ROOT_NEXUS SPIKE_SYSTEM_LOG_LEVEL SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT',
    );
  });
});
