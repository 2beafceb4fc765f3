/**
 * End to end on PostgreSQL: a private cluster, the schema applied out of band by the real
 * `spike-nexus migrate` as the DDL role (granting the runtime role), then real keepers, a real
 * Nexus process as the runtime role with `SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION=true`, the
 * bootstrap, the `spike` CLI and the SDK. Also: Nexus survives its own restart with the data in
 * the database, refuses to start on an unmigrated database and on one that refuses connections
 * (naming the settings), and the password is never in a process's arguments or any log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from '@spike-ts/store/testing';
import { Drill } from '../drills/drill-kit.ts';
import { scrape, sample } from '../metrics/scrape-kit.ts';
import { waitFor } from '../../scripts/stack.ts';
import { launch, NEXUS_BIN } from '../nexus/processes.ts';

let cluster: TestCluster;
let database: string;
let drill: Drill;

/** The Nexus environment for `role` on `db` over the cluster's socket. */
function postgresEnv(role: TestCluster['ddlRole'], db: string): Record<string, string> {
  return {
    SPIKE_NEXUS_BACKEND_STORE: 'postgres',
    SPIKE_NEXUS_POSTGRES_URL: `postgresql://${role.name}@/${db}?host=${cluster.socketDir}`,
    SPIKE_NEXUS_POSTGRES_PASSWORD_FILE: role.passwordFile,
  };
}

const passwords = (): string[] =>
  [cluster.ddlRole, cluster.runtimeRole].map((r) => readFileSync(r.passwordFile, 'utf8').trim());

/** Runs the real `spike-nexus migrate` and resolves with its exit code and output. */
async function migrate(env: Record<string, string>, args: string[] = []) {
  const child = launch(NEXUS_BIN, env, ['migrate', ...args]);
  const code = await child.exited;
  return { code, output: child.output() };
}

/**
 * Starts a Nexus process that should fail; resolves with its exit code and output. It gets a data
 * directory of its own (its audit signing key goes there), never a default one shared with other
 * runs or users.
 */
async function failingNexus(env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'spike-pg-failing-'));
  const child = launch(NEXUS_BIN, {
    SPIKE_NEXUS_DATA_DIR: dataDir,
    SPIFFE_ENDPOINT_SOCKET: drill.stack.endpoint('nexus'),
    SPIKE_NEXUS_KEEPER_PEERS: drill.stack.keeperPeers,
    SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
    SPIKE_NEXUS_HEALTH_ADDR: 'off',
    SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT: '1s',
    ...env,
  });
  const code = await child.exited;
  rmSync(dataDir, { recursive: true, force: true });
  return { code, output: child.output() };
}

before(async () => {
  cluster = await startTestCluster();
  database = await cluster.createDatabase();
  const migrated = await migrate(postgresEnv(cluster.ddlRole, database), [
    '--grant-runtime',
    cluster.runtimeRole.name,
  ]);
  assert.equal(migrated.code, 0, migrated.output);
  assert.match(
    migrated.output,
    /schema "spike" migrated from version 0 to 3 \(applied 1, 2, 3\); runtime grants given to spike_app/,
  );
  drill = await Drill.start({
    nexusEnv: { ...postgresEnv(cluster.runtimeRole, database), SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION: 'true' },
  });
});
after(async () => {
  await drill?.close();
  await cluster?.stop();
});

describe('Nexus on PostgreSQL', () => {
  it('serves the CLI and the SDK, and keeps the data across a Nexus restart', async () => {
    const put = await drill.stack.runSpike('pilot', [
      'secret',
      'put',
      'tenants/pg/db',
      'user=admin',
      'pass=pg-s3cr3t',
    ]);
    assert.equal(put.code, 0, put.stderr);
    const client = await drill.pilot();
    await client.putSecret('tenants/pg/db', { user: 'admin2', pass: 'pg-s3cr3t-2' });
    assert.deepEqual(await client.getSecret('tenants/pg/db', 1), { user: 'admin', pass: 'pg-s3cr3t' });
    const got = await drill.stack.runSpike('pilot', ['secret', 'get', 'tenants/pg/db', 'pass']);
    assert.equal(got.stdout, 'pg-s3cr3t-2\n', got.stderr);
    const status = await drill.stack.runSpike('pilot', ['status', '-f', 'json']);
    assert.equal((JSON.parse(status.stdout) as { backend: string }).backend, 'postgres');
    const policies = await drill.stack.applyDemoPolicies();
    for (const p of policies) assert.equal(p.code, 0, p.stderr);

    // The rows are in the database, encrypted: nothing readable there.
    const rows = await cluster.superuser('SELECT envelope FROM spike.secret_versions', [], database);
    assert.equal(rows.rows.length, 2);
    for (const r of rows.rows)
      assert.equal(Buffer.from(r['envelope'] as Uint8Array).includes('pg-s3cr3t'), false);

    // A new Nexus process gets the root key from the keepers and reads the same database.
    await drill.stack.stopNexus();
    await drill.startNexus();
    await drill.waitReady();
    const again = await drill.stack.runSpike('pilot', ['secret', 'get', 'tenants/pg/db', '-v', '1', 'pass']);
    assert.equal(again.stdout, 'pg-s3cr3t\n', again.stderr);
    const list = await drill.stack.runSpike('pilot', ['policy', 'list', '-f', 'json']);
    assert.equal((JSON.parse(list.stdout) as unknown[]).length, 2, list.stderr);
  });

  it('concurrent puts go through group commit: every one acknowledged, kept and counted in the metrics', async () => {
    const client = await drill.pilot();
    const before = await scrape(drill.stack.opts.healthPort);
    const counted = (text: string): number => sample(text, 'spike_nexus_store_commit_batch_size_sum') ?? 0;
    const n = 24;
    await Promise.all(
      Array.from({ length: n }, (_, i) => client.putSecret(`batch/${String(i % 6)}`, { n: String(i) })),
    );
    for (let k = 0; k < 6; k++) {
      const meta = await client.getSecretMetadata(`batch/${String(k)}`);
      assert.equal(meta.metadata.currentVersion, 4, `batch/${String(k)}`);
    }
    // Every put is a mutation committed by some batch (scrapes are cached for a second).
    let seen = 0;
    await waitFor('the puts in the commit batch metric', 20_000, async () => {
      seen = counted((await scrape(drill.stack.opts.healthPort)).text) - counted(before.text);
      return seen >= n;
    });
    assert.equal(seen, n);
  });

  it('the password is in no argument list and no log', () => {
    const cmdline = readFileSync(`/proc/${String(drill.stack.nexusPid())}/cmdline`, 'utf8');
    const logs = drill.stack.readLog('nexus');
    assert.match(logs, /backend=postgres/);
    for (const pw of passwords()) {
      assert.equal(cmdline.includes(pw), false);
      assert.equal(logs.includes(pw), false);
    }
  });

  it('refuses to start on a database without the schema when it may not create it, saying what to run', async () => {
    const fresh = await cluster.createDatabase();
    const { code, output } = await failingNexus({
      ...postgresEnv(cluster.runtimeRole, fresh),
      SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION: 'true',
    });
    assert.equal(code, 1, output);
    assert.match(
      output,
      /cannot start: PostgreSQL at unix socket in .*, database spike_test_\d+, user spike_app: the database has no SPIKE-TS schema .*run `spike-nexus migrate` as the DDL role \(SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION=true: Nexus runs no DDL\)/,
    );
    // It ran no DDL.
    const schemas = await cluster.superuser("SELECT 1 FROM pg_namespace WHERE nspname = 'spike'", [], fresh);
    assert.equal(schemas.rows.length, 0);
    for (const pw of passwords()) assert.equal(output.includes(pw), false);
  });

  it('names the settings when the database refuses connections at start', async () => {
    const { code, output } = await failingNexus({
      SPIKE_NEXUS_BACKEND_STORE: 'postgres',
      SPIKE_NEXUS_POSTGRES_URL: 'postgresql://spike_app@127.0.0.1:1/spike',
      SPIKE_NEXUS_POSTGRES_SSLMODE: 'disable',
    });
    assert.equal(code, 1, output);
    assert.match(
      output,
      /cannot connect to PostgreSQL \(127\.0\.0\.1:1, database spike, user spike_app\) within 1000 ms: .*ECONNREFUSED.*Check SPIKE_NEXUS_POSTGRES_URL .*SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT/,
    );
  });

  it('refuses a password in the URL at start without printing it', async () => {
    const { code, output } = await failingNexus({
      SPIKE_NEXUS_BACKEND_STORE: 'postgres',
      SPIKE_NEXUS_POSTGRES_URL: 'postgresql://spike_app:hunter2-in-url@127.0.0.1/spike',
    });
    assert.equal(code, 2, output);
    assert.match(output, /SPIKE_NEXUS_POSTGRES_URL: must not hold a password/);
    assert.equal(output.includes('hunter2-in-url'), false);
  });

  it('migrate: idempotent, refuses bad arguments and a missing URL', async () => {
    const again = await migrate(postgresEnv(cluster.ddlRole, database));
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /already at version 3, nothing to apply/);
    const runtime = await migrate(postgresEnv(cluster.runtimeRole, await cluster.createDatabase()));
    assert.equal(runtime.code, 1, runtime.output);
    assert.match(runtime.output, /cannot create the schema "spike".*permission denied/);
    const bad = await migrate(postgresEnv(cluster.ddlRole, database), ['--grant-runtime', 'x; DROP']);
    assert.equal(bad.code, 2);
    const unknown = await migrate(postgresEnv(cluster.ddlRole, database), ['--force']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.output, /unexpected argument "--force"/);
    const noUrl = await migrate({});
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.output, /SPIKE_NEXUS_POSTGRES_URL: is required/);
    const help = await migrate({}, ['--help']);
    assert.equal(help.code, 0);
    assert.match(help.output, /--grant-runtime ROLE/);
  });
});
