import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, type Env } from './config.ts';

const PEERS = 'https://k1:8443,https://k2:8443,https://k3:8443';
const base: Env = { SPIKE_NEXUS_KEEPER_PEERS: PEERS };
const opts = { homeDir: '/home/alice', userName: 'alice', cwd: '/srv' };

function expectError(env: Env, variable: string, secretValue?: string): void {
  assert.throws(
    () => loadConfig({ ...base, ...env }, opts),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.equal(err.variable, variable);
      assert.ok(err.message.startsWith(`${variable}: `));
      if (secretValue !== undefined) assert.ok(!err.message.includes(secretValue), 'value echoed');
      return true;
    },
  );
}

describe('loadConfig defaults', () => {
  it('uses SPIKE defaults and our hardening defaults', () => {
    const c = loadConfig(base, opts);
    assert.deepEqual(c.listen, { host: undefined, port: 8553 });
    assert.equal(c.backend, 'sqlite');
    assert.equal(c.dataDir, '/home/alice/.spike/data');
    assert.equal(c.maxSecretVersions, 10);
    assert.equal(c.maxCipherSize, 65536);
    assert.equal(c.maxRequestBodySize, 1024 * 1024);
    assert.deepEqual(c.keeperPeers, PEERS.split(','));
    assert.equal(c.shamirShares, 3);
    assert.equal(c.shamirThreshold, 2);
    assert.equal(c.shamirMaxShareCount, 1000);
    assert.equal(c.keeperUpdateIntervalMs, 300_000);
    assert.equal(c.keeperHeartbeatIntervalMs, 10_000);
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.headersTimeoutMs, 10_000);
    assert.equal(c.requestTimeoutMs, 30_000);
    assert.equal(c.keepAliveTimeoutMs, 65_000);
    assert.deepEqual(c.audit, { kind: 'stderr' });
    assert.deepEqual(c.health, { host: undefined, port: 8554 });
    assert.equal(c.spiffeEndpointSocket, 'unix:///tmp/spire-agent/public/api.sock');
    assert.equal(c.spiffeSourceTimeoutMs, 30_000);
    assert.deepEqual(c.db, {
      journalMode: 'WAL',
      busyTimeoutMs: 5000,
      maxOpenConns: 10,
      maxIdleConns: 5,
      connMaxLifetimeMs: 3_600_000,
      operationTimeoutMs: 15_000,
      initializationTimeoutMs: 30_000,
      skipSchemaCreation: false,
    });
  });

  it('is frozen all the way down', () => {
    const c = loadConfig(base, opts);
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.db));
    assert.ok(Object.isFrozen(c.listen));
    assert.ok(Object.isFrozen(c.keeperPeers));
    assert.throws(() => {
      (c as { backend: string }).backend = 'memory';
    });
  });

  it('memory backend needs no keepers', () => {
    const c = loadConfig({ SPIKE_NEXUS_BACKEND_STORE: 'MEMORY' }, opts);
    assert.equal(c.backend, 'memory');
    assert.deepEqual(c.keeperPeers, []);
  });

  it('falls back to /tmp/.spike-<user>/data without a home directory', () => {
    const c = loadConfig(base, { userName: 'bob' });
    assert.equal(c.dataDir, '/tmp/.spike-bob/data');
  });
});

describe('loadConfig values', () => {
  it('parses listen addresses', () => {
    assert.deepEqual(loadConfig({ ...base, SPIKE_NEXUS_TLS_PORT: ':8443' }, opts).listen, {
      host: undefined,
      port: 8443,
    });
    assert.deepEqual(loadConfig({ ...base, SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0' }, opts).listen, {
      host: '127.0.0.1',
      port: 0,
    });
    assert.deepEqual(loadConfig({ ...base, SPIKE_NEXUS_TLS_PORT: '[::1]:9000' }, opts).listen, {
      host: '::1',
      port: 9000,
    });
    assert.deepEqual(loadConfig({ ...base, SPIKE_NEXUS_TLS_PORT: 'localhost:1' }, opts).listen, {
      host: 'localhost',
      port: 1,
    });
  });

  it('appends /data to SPIKE_NEXUS_DATA_DIR and resolves relative paths', () => {
    assert.equal(
      loadConfig({ ...base, SPIKE_NEXUS_DATA_DIR: '/var/lib/spike' }, opts).dataDir,
      '/var/lib/spike/data',
    );
    assert.equal(loadConfig({ ...base, SPIKE_NEXUS_DATA_DIR: 'state' }, opts).dataDir, '/srv/state/data');
  });

  it('reads durations, numbers and choices', () => {
    const c = loadConfig(
      {
        ...base,
        SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL: '1m30s',
        SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: '500ms',
        SPIKE_NEXUS_MAX_SECRET_VERSIONS: '3',
        SPIKE_SYSTEM_LOG_LEVEL: 'DEBUG',
        SPIKE_NEXUS_DB_JOURNAL_MODE: 'delete',
        SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION: 'TRUE',
        SPIKE_NEXUS_AUDIT_LOG: '/var/log/spike-audit.jsonl',
        SPIKE_NEXUS_HEALTH_ADDR: 'off',
      },
      opts,
    );
    assert.equal(c.keeperUpdateIntervalMs, 90_000);
    assert.equal(c.headersTimeoutMs, 500);
    assert.equal(c.maxSecretVersions, 3);
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.db.journalMode, 'DELETE');
    assert.equal(c.db.skipSchemaCreation, true);
    assert.deepEqual(c.audit, { kind: 'file', path: '/var/log/spike-audit.jsonl' });
    assert.equal(c.health, null);
  });

  it('accepts audit sinks stdout and off', () => {
    assert.deepEqual(loadConfig({ ...base, SPIKE_NEXUS_AUDIT_LOG: 'stdout' }, opts).audit, {
      kind: 'stdout',
    });
    assert.deepEqual(loadConfig({ ...base, SPIKE_NEXUS_AUDIT_LOG: 'off' }, opts).audit, { kind: 'off' });
  });
});

describe('loadConfig: the postgres backend', () => {
  const pg = { ...base, SPIKE_NEXUS_BACKEND_STORE: 'postgres' };

  it('keeps the API threads within SPIKE_NEXUS_DB_MAX_OPEN_CONNS, which they share', () => {
    const url = {
      ...pg,
      SPIKE_NEXUS_POSTGRES_URL: 'postgresql://app@db.example/spike',
      SPIKE_NEXUS_DB_MAX_IDLE_CONNS: '0',
    };
    // auto takes no more threads than connections ...
    assert.equal(
      loadConfig({ ...url, SPIKE_NEXUS_DB_MAX_OPEN_CONNS: '3' }, { ...opts, cpus: 8 }).apiThreads,
      3,
    );
    assert.equal(loadConfig(url, { ...opts, cpus: 8 }).apiThreads, 8);
    // ... a number set above them is refused, naming both settings.
    const explicit = { ...url, SPIKE_NEXUS_API_THREADS: '4', SPIKE_NEXUS_DB_MAX_OPEN_CONNS: '3' };
    expectError(explicit, 'SPIKE_NEXUS_API_THREADS');
    assert.throws(() => loadConfig(explicit, opts), /SPIKE_NEXUS_DB_MAX_OPEN_CONNS/);
    assert.equal(loadConfig({ ...explicit, SPIKE_NEXUS_DB_MAX_OPEN_CONNS: '4' }, opts).apiThreads, 4);
    // SQLite does not pool: no such limit there.
    assert.equal(
      loadConfig(
        {
          ...base,
          SPIKE_NEXUS_API_THREADS: '4',
          SPIKE_NEXUS_DB_MAX_OPEN_CONNS: '1',
          SPIKE_NEXUS_DB_MAX_IDLE_CONNS: '0',
        },
        opts,
      ).apiThreads,
      4,
    );
  });

  it('reads the connection, resolving relative files against the working directory', () => {
    const c = loadConfig(
      {
        ...pg,
        SPIKE_NEXUS_POSTGRES_URL: 'postgresql://spike_app@db.example:6432/spike',
        SPIKE_NEXUS_POSTGRES_PASSWORD_FILE: 'secrets/pg.password',
        SPIKE_NEXUS_POSTGRES_SSLROOTCERT: '/etc/ssl/pg-ca.pem',
        SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION: 'true',
      },
      opts,
    );
    assert.equal(c.backend, 'postgres');
    assert.deepEqual(c.postgres, {
      url: { host: 'db.example', port: 6432, database: 'spike', user: 'spike_app' },
      passwordFile: '/srv/secrets/pg.password',
      sslMode: 'verify-full',
      sslRootCert: '/etc/ssl/pg-ca.pem',
    });
    assert.equal(c.db.skipSchemaCreation, true);
    const socket = loadConfig(
      {
        ...pg,
        SPIKE_NEXUS_POSTGRES_URL: 'postgres://app@/spike?host=/run/postgresql',
        SPIKE_NEXUS_POSTGRES_SSLMODE: 'DISABLE',
      },
      opts,
    );
    assert.deepEqual(socket.postgres?.url, {
      host: '/run/postgresql',
      port: 5432,
      database: 'spike',
      user: 'app',
    });
    assert.equal(socket.postgres?.sslMode, 'disable');
    assert.equal(loadConfig(base, opts).postgres, undefined);
  });

  it('needs a URL, and keepers as with sqlite', () => {
    expectError(pg, 'SPIKE_NEXUS_POSTGRES_URL');
    assert.throws(
      () =>
        loadConfig(
          { SPIKE_NEXUS_BACKEND_STORE: 'postgres', SPIKE_NEXUS_POSTGRES_URL: 'postgresql://a@h/d' },
          opts,
        ),
      /SPIKE_NEXUS_KEEPER_PEERS/,
    );
  });

  it('refuses a password in the URL without echoing it, and other malformed URLs', () => {
    expectError(
      { ...pg, SPIKE_NEXUS_POSTGRES_URL: 'postgresql://app:s3cr3t-pw@h/d' },
      'SPIKE_NEXUS_POSTGRES_URL',
      's3cr3t-pw',
    );
    for (const url of [
      'mysql://app@h/d',
      'postgresql://h/d',
      'postgresql://app@h/',
      'postgresql://app@h/d?sslmode=disable',
      'postgresql://app@h:99999/d',
      'postgresql://app@/d?host=relative/dir',
      'postgresql://app@h/d?host=/dir',
      'not a url',
    ]) {
      expectError({ ...pg, SPIKE_NEXUS_POSTGRES_URL: url }, 'SPIKE_NEXUS_POSTGRES_URL');
    }
    expectError(
      { ...pg, SPIKE_NEXUS_POSTGRES_URL: 'postgresql://a@h/d', SPIKE_NEXUS_POSTGRES_SSLMODE: 'prefer' },
      'SPIKE_NEXUS_POSTGRES_SSLMODE',
    );
  });
});

describe('loadConfig rejects', () => {
  it('unknown backends, naming the variable', () => {
    expectError({ SPIKE_NEXUS_BACKEND_STORE: 'mysql' }, 'SPIKE_NEXUS_BACKEND_STORE', 'mysql');
    expectError({ SPIKE_NEXUS_BACKEND_STORE: 'lite' }, 'SPIKE_NEXUS_BACKEND_STORE');
  });

  it('system directories as data dir', () => {
    for (const dir of [
      '/',
      '/etc',
      '/etc/spike',
      '/usr/local',
      '/proc/1',
      '/root',
      '/root/.spike',
      '/dev',
      '/boot/x',
    ]) {
      expectError({ SPIKE_NEXUS_DATA_DIR: dir }, 'SPIKE_NEXUS_DATA_DIR');
    }
    // A sibling whose name only starts like a forbidden dir is fine.
    assert.equal(loadConfig({ ...base, SPIKE_NEXUS_DATA_DIR: '/etcetera' }, opts).dataDir, '/etcetera/data');
  });

  it('invalid durations and numbers instead of silently falling back', () => {
    expectError({ SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL: 'soon' }, 'SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL', 'soon');
    expectError({ SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: '10' }, 'SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT');
    expectError({ SPIKE_NEXUS_REQUEST_TIMEOUT: '-1s' }, 'SPIKE_NEXUS_REQUEST_TIMEOUT');
    expectError({ SPIKE_NEXUS_MAX_SECRET_VERSIONS: 'ten' }, 'SPIKE_NEXUS_MAX_SECRET_VERSIONS', 'ten');
    expectError({ SPIKE_NEXUS_MAX_SECRET_VERSIONS: '0' }, 'SPIKE_NEXUS_MAX_SECRET_VERSIONS');
    expectError({ SPIKE_NEXUS_MAX_SECRET_VERSIONS: '1.5' }, 'SPIKE_NEXUS_MAX_SECRET_VERSIONS');
    expectError({ SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE: '-5' }, 'SPIKE_NEXUS_CRYPTO_MAX_CIPHERTEXT_SIZE');
    expectError({ SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE: '1e9' }, 'SPIKE_NEXUS_MAX_REQUEST_BODY_SIZE');
    expectError({ SPIKE_NEXUS_DB_BUSY_TIMEOUT_MS: 'x' }, 'SPIKE_NEXUS_DB_BUSY_TIMEOUT_MS');
    expectError({ SPIKE_NEXUS_DB_CONN_MAX_LIFETIME: '1y' }, 'SPIKE_NEXUS_DB_CONN_MAX_LIFETIME');
    expectError({ SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION: 'yes' }, 'SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION');
    expectError({ SPIKE_NEXUS_DB_JOURNAL_MODE: 'fast' }, 'SPIKE_NEXUS_DB_JOURNAL_MODE');
    expectError({ SPIKE_NEXUS_DB_JOURNAL_MODE: 'OFF' }, 'SPIKE_NEXUS_DB_JOURNAL_MODE');
    expectError({ SPIKE_NEXUS_DB_MAX_IDLE_CONNS: '20' }, 'SPIKE_NEXUS_DB_MAX_IDLE_CONNS');
    expectError({ SPIKE_SYSTEM_LOG_LEVEL: 'loud' }, 'SPIKE_SYSTEM_LOG_LEVEL');
    expectError({ SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL: '1x' }, 'SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL');
    expectError({ SPIKE_SPIFFE_SOURCE_TIMEOUT: 'forever' }, 'SPIKE_SPIFFE_SOURCE_TIMEOUT');
    expectError({ SPIKE_NEXUS_KEEP_ALIVE_TIMEOUT: '' + 'abc' }, 'SPIKE_NEXUS_KEEP_ALIVE_TIMEOUT');
  });

  it('API threads: auto by default, sized from the CPUs given, overridable', () => {
    // An embedding that does not say how many CPUs it has gets one thread.
    assert.equal(loadConfig(base, opts).apiThreads, 1);
    assert.equal(loadConfig(base, opts).apiThreadsAuto, true);
    assert.equal(loadConfig(base, { ...opts, cpus: 2 }).apiThreads, 2);
    assert.equal(loadConfig(base, { ...opts, cpus: 1 }).apiThreads, 1);
    assert.equal(loadConfig(base, { ...opts, cpus: 64 }).apiThreads, 8);
    assert.equal(
      loadConfig({ ...base, SPIKE_NEXUS_API_THREADS: 'AUTO' }, { ...opts, cpus: 3 }).apiThreads,
      3,
    );
    const set = loadConfig({ ...base, SPIKE_NEXUS_API_THREADS: '1' }, { ...opts, cpus: 8 });
    assert.equal(set.apiThreads, 1);
    assert.equal(set.apiThreadsAuto, false);
    assert.equal(loadConfig({ ...base, SPIKE_NEXUS_API_THREADS: '12' }, { ...opts, cpus: 2 }).apiThreads, 12);
    // Other backends: auto stays at one thread, no error.
    const memory = loadConfig({ SPIKE_NEXUS_BACKEND_STORE: 'memory' }, { ...opts, cpus: 8 });
    assert.equal(memory.apiThreads, 1);
  });

  it('API threads out of range or without SQLite', () => {
    assert.equal(loadConfig({ ...base, SPIKE_NEXUS_API_THREADS: '4' }, opts).apiThreads, 4);
    for (const v of ['0', '17', 'two', '1.5', '-2', 'automatic']) {
      expectError({ SPIKE_NEXUS_API_THREADS: v }, 'SPIKE_NEXUS_API_THREADS');
    }
    expectError(
      { SPIKE_NEXUS_API_THREADS: '2', SPIKE_NEXUS_BACKEND_STORE: 'memory' },
      'SPIKE_NEXUS_API_THREADS',
    );
    assert.equal(
      loadConfig({ SPIKE_NEXUS_API_THREADS: '1', SPIKE_NEXUS_BACKEND_STORE: 'memory' }, opts).apiThreads,
      1,
    );
  });

  it('a header timeout longer than the request timeout', () => {
    expectError(
      { SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: '1m', SPIKE_NEXUS_REQUEST_TIMEOUT: '30s' },
      'SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT',
    );
  });

  it('bad listen addresses', () => {
    for (const v of ['8553x', ':99999', 'host:', 'a b:1', '[::1]', 'https://x:1']) {
      expectError({ SPIKE_NEXUS_TLS_PORT: v }, 'SPIKE_NEXUS_TLS_PORT');
    }
    expectError({ SPIKE_NEXUS_HEALTH_ADDR: 'nope' }, 'SPIKE_NEXUS_HEALTH_ADDR');
  });

  it('bad Shamir settings', () => {
    expectError({ SPIKE_NEXUS_SHAMIR_THRESHOLD: '4' }, 'SPIKE_NEXUS_SHAMIR_THRESHOLD');
    expectError({ SPIKE_NEXUS_SHAMIR_THRESHOLD: '0' }, 'SPIKE_NEXUS_SHAMIR_THRESHOLD');
    expectError({ SPIKE_NEXUS_SHAMIR_SHARES: '2' }, 'SPIKE_NEXUS_KEEPER_PEERS');
    expectError({ SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT: '2' }, 'SPIKE_NEXUS_SHAMIR_MAX_SHARE_COUNT');
  });

  it('bad keeper peers', () => {
    assert.throws(() => loadConfig({}, opts), /SPIKE_NEXUS_KEEPER_PEERS: is required/);
    expectError(
      { SPIKE_NEXUS_KEEPER_PEERS: 'http://a:1,https://b:1,https://c:1' },
      'SPIKE_NEXUS_KEEPER_PEERS',
    );
    expectError({ SPIKE_NEXUS_KEEPER_PEERS: 'https://a:1,,https://c:1' }, 'SPIKE_NEXUS_KEEPER_PEERS');
    expectError(
      { SPIKE_NEXUS_KEEPER_PEERS: 'https://a:1,https://a:1,https://c:1' },
      'SPIKE_NEXUS_KEEPER_PEERS',
    );
    expectError(
      { SPIKE_NEXUS_KEEPER_PEERS: 'https://a:1,not a url,https://c:1' },
      'SPIKE_NEXUS_KEEPER_PEERS',
    );
    expectError(
      { SPIKE_NEXUS_KEEPER_PEERS: 'https://u:hunter2@a:1,https://b:1,https://c:1' },
      'SPIKE_NEXUS_KEEPER_PEERS',
      'hunter2',
    );
  });

  it('audit targets that are neither a keyword nor an absolute path', () => {
    expectError({ SPIKE_NEXUS_AUDIT_LOG: 'stdrr' }, 'SPIKE_NEXUS_AUDIT_LOG');
  });
});

describe('loadConfig reports every invalid variable at once', () => {
  it('names each one with its rule, in one ConfigError, without the values', () => {
    assert.throws(
      () =>
        loadConfig(
          {
            ...base,
            SPIKE_NEXUS_API_THREADS: '99',
            SPIKE_NEXUS_AUDIT_LOG: 'relative/secret.log',
            SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: 'soon',
            SPIKE_NEXUS_DB_JOURNAL_MODE: 'OFF',
            SPIKE_TRUST_ROOT_PILOT: 'Bad.Domain',
          },
          opts,
        ),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems.map((p) => p.variable).sort(), [
          'SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT',
          'SPIKE_NEXUS_API_THREADS',
          'SPIKE_NEXUS_AUDIT_LOG',
          'SPIKE_NEXUS_DB_JOURNAL_MODE',
          'SPIKE_TRUST_ROOT_PILOT',
        ]);
        assert.match(err.message, /SPIKE_NEXUS_API_THREADS: must be auto or a whole number from 1 to 16/);
        assert.match(
          err.message,
          /SPIKE_NEXUS_AUDIT_LOG: must be stderr, stdout, off or an absolute file path/,
        );
        for (const value of ['99', 'secret', 'soon', 'Bad.Domain']) assert.ok(!err.message.includes(value));
        return true;
      },
    );
  });

  it('adds cross-variable problems to the same error', () => {
    assert.throws(
      () =>
        loadConfig(
          {
            ...base,
            SPIKE_NEXUS_SHAMIR_THRESHOLD: '4',
            SPIKE_NEXUS_DB_MAX_IDLE_CONNS: '20',
            SPIKE_NEXUS_MAX_SECRET_VERSIONS: '0',
          },
          opts,
        ),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 3 &&
        /SPIKE_NEXUS_SHAMIR_THRESHOLD: must not be greater than SPIKE_NEXUS_SHAMIR_SHARES/.test(
          err.message,
        ) &&
        /SPIKE_NEXUS_DB_MAX_IDLE_CONNS: must not be greater than SPIKE_NEXUS_DB_MAX_OPEN_CONNS/.test(
          err.message,
        ),
    );
  });
});

describe('connection and rate limits', () => {
  it('defaults: caps on, rate limits off', () => {
    const c = loadConfig(base, opts);
    assert.equal(c.handshakeTimeoutMs, 10_000);
    assert.equal(c.maxConnections, 1024);
    assert.equal(c.maxConnectionsPerCaller, 128);
    assert.equal(c.healthMaxConnections, 64);
    assert.deepEqual(c.rateLimit, { requestsPerSecond: 0, burst: 1, concurrency: 0 });
  });

  it('reads every variable; the burst defaults to the rate', () => {
    const c = loadConfig(
      {
        ...base,
        SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT: '2s',
        SPIKE_NEXUS_MAX_CONNECTIONS: '500',
        SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER: '0',
        SPIKE_NEXUS_HEALTH_MAX_CONNECTIONS: '8',
        SPIKE_NEXUS_RATE_LIMIT_RPS: '50',
        SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY: '16',
      },
      opts,
    );
    assert.equal(c.handshakeTimeoutMs, 2000);
    assert.equal(c.maxConnections, 500);
    assert.equal(c.maxConnectionsPerCaller, 0);
    assert.equal(c.healthMaxConnections, 8);
    assert.deepEqual(c.rateLimit, { requestsPerSecond: 50, burst: 50, concurrency: 16 });
    assert.equal(
      loadConfig({ ...base, SPIKE_NEXUS_RATE_LIMIT_RPS: '50', SPIKE_NEXUS_RATE_LIMIT_BURST: '200' }, opts)
        .rateLimit.burst,
      200,
    );
  });

  it('refuses values out of range, naming the variable', () => {
    expectError({ SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT: '0s' }, 'SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT');
    expectError({ SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT: '2h' }, 'SPIKE_NEXUS_TLS_HANDSHAKE_TIMEOUT');
    expectError({ SPIKE_NEXUS_MAX_CONNECTIONS: '0' }, 'SPIKE_NEXUS_MAX_CONNECTIONS');
    expectError({ SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER: '-1' }, 'SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER');
    expectError({ SPIKE_NEXUS_HEALTH_MAX_CONNECTIONS: 'many' }, 'SPIKE_NEXUS_HEALTH_MAX_CONNECTIONS');
    expectError({ SPIKE_NEXUS_RATE_LIMIT_RPS: '1.5' }, 'SPIKE_NEXUS_RATE_LIMIT_RPS');
    expectError({ SPIKE_NEXUS_RATE_LIMIT_BURST: '0' }, 'SPIKE_NEXUS_RATE_LIMIT_BURST');
    expectError({ SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY: '100001' }, 'SPIKE_NEXUS_RATE_LIMIT_CONCURRENCY');
  });
});

describe('metrics setting (SPIKE_NEXUS_METRICS)', () => {
  it('is on by default, on the health listener', () => {
    assert.equal(loadConfig(base, opts).metrics, true);
    assert.equal(loadConfig({ ...base, SPIKE_NEXUS_METRICS: 'ON' }, opts).metrics, true);
  });

  it('off turns them off; so does a health listener that is off (when not asked for explicitly)', () => {
    assert.equal(loadConfig({ ...base, SPIKE_NEXUS_METRICS: 'off' }, opts).metrics, false);
    assert.equal(loadConfig({ ...base, SPIKE_NEXUS_HEALTH_ADDR: 'off' }, opts).metrics, false);
    assert.equal(
      loadConfig({ ...base, SPIKE_NEXUS_HEALTH_ADDR: 'off', SPIKE_NEXUS_METRICS: 'off' }, opts).metrics,
      false,
    );
  });

  it('refuses an unreadable value, naming the variable', () => {
    expectError({ SPIKE_NEXUS_METRICS: 'yes' }, 'SPIKE_NEXUS_METRICS');
    expectError({ SPIKE_NEXUS_METRICS: 'true' }, 'SPIKE_NEXUS_METRICS');
  });

  it('refuses metrics asked for explicitly with the health listener off, naming both variables', () => {
    assert.throws(
      () => loadConfig({ ...base, SPIKE_NEXUS_METRICS: 'on', SPIKE_NEXUS_HEALTH_ADDR: 'off' }, opts),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.variable, 'SPIKE_NEXUS_METRICS');
        assert.match(err.message, /SPIKE_NEXUS_METRICS: must not be on while SPIKE_NEXUS_HEALTH_ADDR is off/);
        return true;
      },
    );
  });
});
