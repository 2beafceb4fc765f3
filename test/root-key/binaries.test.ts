/**
 * The root-key binaries as real processes against the dev identity issuer: three
 * `spike-keeper`s, `spike-nexus` on SQLite and `spike-bootstrap`, with their exit codes and
 * messages. Every child is killed in `after`, also on failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDevIssuer, type DevIssuer } from '@spike-ts/dev-identity';
import { KEEPER_BIN, killAll, launch, NEXUS_BIN, waitForPort, type Child } from '../nexus/processes.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BOOTSTRAP_BIN = join(ROOT, 'packages', 'bootstrap', 'bin', 'spike-bootstrap.js');

describe('spike-keeper, spike-nexus and spike-bootstrap processes', () => {
  let dir = '';
  let issuer: DevIssuer;
  const keeperUrls: string[] = [];
  const keepers: Child[] = [];
  let nexusUrl = '';

  before(async () => {
    dir = await mkdtemp('/tmp/spx-');
    issuer = await startDevIssuer({ stateDir: join(dir, 'state'), socketDir: join(dir, 's'), env: {} });
    for (let i = 0; i < 3; i++) {
      const keeper = launch(KEEPER_BIN, {
        SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('keeper'),
        SPIKE_KEEPER_TLS_PORT: '127.0.0.1:0',
      });
      keepers.push(keeper);
      keeperUrls.push(`https://127.0.0.1:${await waitForPort(keeper)}`);
    }
    const nexus = launch(NEXUS_BIN, {
      SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('nexus'),
      SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
      SPIKE_NEXUS_HEALTH_ADDR: 'off',
      SPIKE_NEXUS_AUDIT_LOG: 'off',
      SPIKE_NEXUS_DATA_DIR: join(dir, 'nexus'),
      SPIKE_NEXUS_KEEPER_PEERS: keeperUrls.join(','),
      HOME: dir,
    });
    nexusUrl = `https://127.0.0.1:${await waitForPort(nexus)}`;
  });

  after(async () => {
    await killAll();
    await issuer.close();
    await rm(dir, { recursive: true, force: true });
  });

  const bootstrapEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('bootstrap'),
    SPIKE_NEXUS_KEEPER_PEERS: keeperUrls.join(','),
    SPIKE_NEXUS_API_URL: nexusUrl,
    SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES: '2',
    SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL: '50ms',
    SPIKE_BOOTSTRAP_KEEPER_TIMEOUT: '3s',
    SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT: '60s',
    ...extra,
  });

  it('spike-bootstrap --help explains itself', async () => {
    const run = launch(BOOTSTRAP_BIN, {}, ['--help']);
    assert.equal(await run.exited, 0);
    assert.match(run.output(), /Usage: spike-bootstrap/);
    assert.match(run.output(), /Exit codes/);
  });

  it('spike-bootstrap -init initializes the system and Nexus proves it holds the key', async () => {
    const run = launch(BOOTSTRAP_BIN, bootstrapEnv(), ['-init']);
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), /share 1 delivered/);
    assert.match(run.output(), /Bootstrap complete/);
  });

  it('a second run refuses to overwrite the live system (exit 3)', async () => {
    const run = launch(BOOTSTRAP_BIN, bootstrapEnv());
    assert.equal(await run.exited, 3, run.output());
    assert.match(run.output(), /refusing to bootstrap: SPIKE Nexus at .* is already initialized/);
    assert.match(run.output(), /--force/);
  });

  it('an unreachable keeper fails clearly (exit 4)', async () => {
    const peers = [keeperUrls[0], keeperUrls[1], 'https://127.0.0.1:1'].join(',');
    const run = launch(BOOTSTRAP_BIN, bootstrapEnv({ SPIKE_NEXUS_KEEPER_PEERS: peers }));
    assert.equal(await run.exited, 4, run.output());
    assert.match(run.output(), /https:\/\/127\.0\.0\.1:1 is unreachable/);
  });

  it('keeper count different from SPIKE_NEXUS_SHAMIR_SHARES is a usage error (exit 2)', async () => {
    const run = launch(BOOTSTRAP_BIN, bootstrapEnv({ SPIKE_NEXUS_SHAMIR_SHARES: '4' }));
    assert.equal(await run.exited, 2, run.output());
    assert.match(run.output(), /lists 3 keeper\(s\) but SPIKE_NEXUS_SHAMIR_SHARES is 4/);
  });

  it('spike-bootstrap refuses to run without a bootstrap SVID (exit 1)', async () => {
    const run = launch(BOOTSTRAP_BIN, bootstrapEnv({ SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('pilot') }));
    assert.equal(await run.exited, 1, run.output());
    assert.match(run.output(), /not a SPIKE Bootstrap ID/);
  });

  it('spike-keeper refuses to run without a keeper SVID, or with a bad port', async () => {
    const wrongId = launch(KEEPER_BIN, {
      SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('nexus'),
      SPIKE_KEEPER_TLS_PORT: '127.0.0.1:0',
    });
    assert.equal(await wrongId.exited, 1, wrongId.output());
    assert.match(wrongId.output(), /not a SPIKE Keeper ID/);
    const badPort = launch(KEEPER_BIN, {
      SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('keeper'),
      SPIKE_KEEPER_TLS_PORT: ':99999',
    });
    assert.equal(await badPort.exited, 2, badPort.output());
    assert.match(badPort.output(), /SPIKE_KEEPER_TLS_PORT/);
  });

  it('spike-keeper exits cleanly on SIGTERM', async () => {
    const keeper = keepers[2];
    assert.ok(keeper);
    keeper.proc.kill('SIGTERM');
    assert.equal(await keeper.exited, 0, keeper.output());
  });
});
