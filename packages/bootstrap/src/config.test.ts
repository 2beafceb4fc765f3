import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadBootstrapConfig, parseKeeperPeers } from './config.ts';
import { parseBootstrapArgs } from './cli-args.ts';
import { BootstrapConfigError, EXIT_USAGE } from './errors.ts';

const PEERS = 'https://k1:8443,https://k2:8443,https://k3:8443';

describe('bootstrap config', () => {
  it('uses SPIKE defaults', () => {
    const c = loadBootstrapConfig({ SPIKE_NEXUS_KEEPER_PEERS: PEERS });
    assert.deepEqual(c.keeperPeers, ['https://k1:8443', 'https://k2:8443', 'https://k3:8443']);
    assert.equal(c.shares, 3);
    assert.equal(c.threshold, 2);
    assert.equal(c.nexusApiUrl, 'https://localhost:8553');
    assert.equal(c.keeperMaxRetries, 5);
    assert.equal(c.keeperRetryInitialMs, 2000);
    assert.equal(c.keeperRetryMaxMs, 30_000);
    assert.equal(c.keeperTimeoutMs, 30_000);
    assert.equal(c.verificationTimeoutMs, 30 * 60_000);
    assert.equal(c.timeoutMs, 0);
    assert.equal(c.force, false);
  });

  it('reads every variable', () => {
    const c = loadBootstrapConfig({
      SPIKE_NEXUS_KEEPER_PEERS: 'https://a:1, https://b:2',
      SPIKE_NEXUS_SHAMIR_SHARES: '2',
      SPIKE_NEXUS_SHAMIR_THRESHOLD: '1',
      SPIKE_NEXUS_API_URL: 'https://nexus:9000',
      SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES: '2',
      SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL: '10ms',
      SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL: '1s',
      SPIKE_BOOTSTRAP_KEEPER_TIMEOUT: '5s',
      SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT: '1m30s',
      SPIKE_BOOTSTRAP_TIMEOUT: '2h',
      SPIKE_BOOTSTRAP_FORCE: 'true',
    });
    assert.deepEqual(c.keeperPeers, ['https://a:1', 'https://b:2']);
    assert.equal(c.threshold, 1);
    assert.equal(c.nexusApiUrl, 'https://nexus:9000');
    assert.equal(c.keeperMaxRetries, 2);
    assert.equal(c.keeperRetryInitialMs, 10);
    assert.equal(c.keeperRetryMaxMs, 1000);
    assert.equal(c.keeperTimeoutMs, 5000);
    assert.equal(c.verificationTimeoutMs, 90_000);
    assert.equal(c.timeoutMs, 7_200_000);
    assert.equal(c.force, true);
  });

  it('reads several Nexus URLs in order; the first is nexusApiUrl', () => {
    const c = loadBootstrapConfig({
      SPIKE_NEXUS_KEEPER_PEERS: 'https://a:1,https://b:2,https://c:3',
      SPIKE_NEXUS_API_URL: 'https://n2:8553, https://n1:8553',
    });
    assert.equal(c.nexusApiUrl, 'https://n2:8553');
    assert.deepEqual(c.nexusApiUrls, ['https://n2:8553', 'https://n1:8553']);
  });

  it('force needs exactly "true" (like SPIKE) or the flag', () => {
    assert.equal(
      loadBootstrapConfig({ SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_BOOTSTRAP_FORCE: 'TRUE' }).force,
      false,
    );
    assert.equal(
      loadBootstrapConfig({ SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_BOOTSTRAP_FORCE: '1' }).force,
      false,
    );
    assert.equal(loadBootstrapConfig({ SPIKE_NEXUS_KEEPER_PEERS: PEERS }, { force: true }).force, true);
  });

  it('requires as many keepers as shares', () => {
    assert.throws(
      () => loadBootstrapConfig({ SPIKE_NEXUS_KEEPER_PEERS: 'https://a:1,https://b:2' }),
      (err: unknown) =>
        err instanceof BootstrapConfigError &&
        err.exitCode === EXIT_USAGE &&
        /lists 2 keeper\(s\) but SPIKE_NEXUS_SHAMIR_SHARES is 3/.test(err.message),
    );
    assert.throws(
      () => loadBootstrapConfig({ SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_NEXUS_SHAMIR_SHARES: '4' }),
      BootstrapConfigError,
    );
  });

  it('rejects bad values, naming the variable without echoing the value', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /SPIKE_NEXUS_KEEPER_PEERS: is required/],
      [
        { SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_NEXUS_SHAMIR_THRESHOLD: '4' },
        /SPIKE_NEXUS_SHAMIR_THRESHOLD/,
      ],
      [{ SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_NEXUS_SHAMIR_SHARES: 'three' }, /SPIKE_NEXUS_SHAMIR_SHARES/],
      [
        { SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_BOOTSTRAP_KEEPER_TIMEOUT: 'soon' },
        /SPIKE_BOOTSTRAP_KEEPER_TIMEOUT/,
      ],
      [
        { SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES: '0' },
        /SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES/,
      ],
      [{ SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_NEXUS_API_URL: 'http://nexus:1' }, /SPIKE_NEXUS_API_URL/],
      [
        { SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL: '1s' },
        /SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL/,
      ],
    ];
    for (const [env, pattern] of cases) {
      assert.throws(
        () => loadBootstrapConfig(env),
        (err: unknown) =>
          err instanceof BootstrapConfigError && pattern.test(err.message) && !/soon|three/.test(err.message),
        JSON.stringify(env),
      );
    }
  });

  it('validates keeper URLs like SPIKE', () => {
    assert.throws(() => parseKeeperPeers('https://a:1,,https://b:2'), /entry 2 is empty/);
    assert.throws(() => parseKeeperPeers('http://a:1'), /https/);
    assert.throws(() => parseKeeperPeers('a:1'), /https|URL/);
    assert.throws(() => parseKeeperPeers('https://a:1,https://a:1/'), /duplicate/);
    assert.throws(() => parseKeeperPeers('https://user:pw@a:1'), /https/);
  });

  it('a memory backend needs no keepers', () => {
    const c = loadBootstrapConfig({ SPIKE_NEXUS_BACKEND_STORE: 'memory' });
    assert.equal(c.backendStore, 'memory');
    assert.deepEqual(c.keeperPeers, []);
  });
});

describe('bootstrap config errors', () => {
  it('name every invalid variable at once, as one usage error', () => {
    assert.throws(
      () =>
        loadBootstrapConfig({
          SPIKE_NEXUS_KEEPER_PEERS: 'https://a:1,,https://b:2',
          SPIKE_BOOTSTRAP_KEEPER_TIMEOUT: 'soon',
          SPIKE_NEXUS_API_URL: 'http://nexus:1',
          SPIKE_NEXUS_BACKEND_STORE: 'mysql',
        }),
      (err: unknown) => {
        assert.ok(err instanceof BootstrapConfigError);
        assert.equal(err.exitCode, EXIT_USAGE);
        for (const name of [
          'SPIKE_NEXUS_KEEPER_PEERS',
          'SPIKE_BOOTSTRAP_KEEPER_TIMEOUT',
          'SPIKE_NEXUS_API_URL',
          'SPIKE_NEXUS_BACKEND_STORE',
        ]) {
          assert.match(err.message, new RegExp(`${name}: `));
        }
        assert.ok(!/soon|mysql/.test(err.message));
        return true;
      },
    );
  });
});

describe('bootstrap flags', () => {
  it("accepts SPIKE's -init, --force and --help", () => {
    assert.deepEqual(parseBootstrapArgs([]), { help: false, version: false, force: false });
    assert.deepEqual(parseBootstrapArgs(['-init']), { help: false, version: false, force: false });
    assert.deepEqual(parseBootstrapArgs(['--init', '--force']), { help: false, version: false, force: true });
    assert.deepEqual(parseBootstrapArgs(['--help']), { help: true, version: false, force: false });
    assert.deepEqual(parseBootstrapArgs(['-h']), { help: true, version: false, force: false });
    assert.deepEqual(parseBootstrapArgs(['--version']), { help: false, version: true, force: false });
    assert.deepEqual(parseBootstrapArgs(['-v']), { help: false, version: true, force: false });
  });

  it('rejects unknown arguments with a usage error', () => {
    assert.throws(
      () => parseBootstrapArgs(['--frce']),
      (err: unknown) =>
        err instanceof BootstrapConfigError && err.exitCode === EXIT_USAGE && /--frce/.test(err.message),
    );
  });

  it('refuses an unknown log level, naming the variable', () => {
    assert.throws(
      () => loadBootstrapConfig({ SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_SYSTEM_LOG_LEVEL: 'verbose' }),
      (err: unknown) =>
        err instanceof BootstrapConfigError && /^SPIKE_SYSTEM_LOG_LEVEL: must be one of/.test(err.message),
    );
    assert.equal(
      loadBootstrapConfig({ SPIKE_NEXUS_KEEPER_PEERS: PEERS, SPIKE_SYSTEM_LOG_LEVEL: 'Info' }).logLevel,
      'info',
    );
  });
});
