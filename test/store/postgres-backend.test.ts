/**
 * The PostgreSQL backend beyond the contract: encryption at rest, tampered rows, several stores
 * (processes) on one database, migrations and the schema check, the runtime role's grants,
 * connection failures and the password file. One private cluster for the file.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { randomBytes } from '@spike-ts/core';
import type { SecretStore } from '@spike-ts/core';
import {
  checkPostgresSchema,
  isUnavailable,
  latestPgSchemaVersion,
  migratePostgres,
  openPostgresStore,
  PG_MIGRATIONS,
  PgSchemaMismatchError,
  PostgresPasswordError,
  runPostgresMigrations,
  runtimeGrants,
  StoreIntegrityError,
  StoreOutcomeUnknownError,
  StoreSchemaError,
  StoreUnavailableError,
  type PostgresConnection,
} from '@spike-ts/store';
import {
  asDdlRole,
  preparedDatabase,
  putVersion,
  samplePolicy,
  socketConnection,
} from '@spike-ts/store/testing';
import { startCommitFaultProxy } from './pg-commit-fault-proxy.ts';
import { clusterForFile } from './cluster-for-file.ts';

const cluster = clusterForFile();

const key = randomBytes(32);

async function runtimeStore(t: TestContext, database: string, extra: Partial<PostgresConnection> = {}) {
  const store = await openPostgresStore({
    connection: { ...socketConnection(cluster, cluster.runtimeRole, database), ...extra },
    schema: 'check',
    pool: { maxConnections: 4 },
  });
  t.after(() => store.close());
  return store;
}

/** Two secrets (three versions each) and two policies written through the store. */
async function filled(t: TestContext): Promise<{ database: string; store: SecretStore }> {
  const database = await preparedDatabase(cluster);
  const store = await runtimeStore(t, database);
  await store.unlock(key);
  for (const path of ['tenants/one/db', 'tenants/two/db']) {
    for (let i = 1; i <= 3; i++) {
      await store.updateSecret(path, putVersion(path, { password: `hunter-${path}-${String(i)}` }));
    }
  }
  await store.putPolicy(samplePolicy('alpha-policy'));
  await store.putPolicy(samplePolicy('beta-policy', { permissions: ['super'] }));
  return { database, store };
}

const raw = async (database: string, sql: string, params: unknown[] = []) =>
  (await cluster.superuser(sql, params, database)).rows;

describe('postgres store: encryption at rest', () => {
  it('stores no path, policy name or value in any column, in any encoding', async (t) => {
    const { database } = await filled(t);
    const rows = [
      ...(await raw(database, 'SELECT * FROM spike.secrets')),
      ...(await raw(database, 'SELECT * FROM spike.secret_versions')),
      ...(await raw(database, 'SELECT * FROM spike.policies')),
      ...(await raw(database, 'SELECT * FROM spike.meta')),
    ];
    assert.equal(rows.length, 2 + 6 + 2 + 1);
    const dump = rows
      .flatMap((r) => Object.values(r as Record<string, unknown>))
      .map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v)))
      .join('\n');
    for (const needle of ['tenants', 'hunter', 'alpha-policy', 'beta-policy', 'password', 'super']) {
      assert.equal(dump.includes(needle), false, needle);
    }
  });
});

describe('postgres store: tampering is detected, never served', () => {
  it('one edited byte in a version row fails that read and nothing else', async (t) => {
    const { database, store } = await filled(t);
    await raw(
      database,
      `UPDATE spike.secret_versions SET envelope = overlay(envelope placing '\\xff'::bytea from 30 for 1)
       WHERE version = 2 AND path_id = (SELECT path_id FROM spike.secrets ORDER BY path_id LIMIT 1)`,
    );
    const results = await Promise.allSettled(
      ['tenants/one/db', 'tenants/two/db'].map((p) => store.getSecret(p)),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const failed = results.find((r) => r.status === 'rejected');
    assert.ok(failed !== undefined);
    assert.ok(failed.reason instanceof StoreIntegrityError);
    assert.equal(String(failed.reason).includes('hunter'), false);
  });

  it('a version row moved to another version number does not open', async (t) => {
    const { database, store } = await filled(t);
    await raw(
      database,
      `UPDATE spike.secret_versions SET envelope = (SELECT envelope FROM spike.secret_versions o
         WHERE o.path_id = spike.secret_versions.path_id AND o.version = 1) WHERE version = 3`,
    );
    await assert.rejects(store.getSecretVersion('tenants/one/db', 3), StoreIntegrityError);
    // Version 1 itself still opens.
    assert.match((await store.getSecretVersion('tenants/one/db', 1))?.version?.data['password'] ?? '', /-1$/);
  });

  it('swapped secret rows and an edited policy row are reported and grant nothing', async (t) => {
    const { database, store } = await filled(t);
    await raw(
      database,
      `WITH ids AS (SELECT (SELECT path_id FROM spike.secrets ORDER BY path_id LIMIT 1) AS a,
                           (SELECT path_id FROM spike.secrets ORDER BY path_id DESC LIMIT 1) AS b),
            envs AS (SELECT (SELECT envelope FROM spike.secrets WHERE path_id = ids.a) AS ea,
                            (SELECT envelope FROM spike.secrets WHERE path_id = ids.b) AS eb, ids.a, ids.b FROM ids)
       UPDATE spike.secrets s SET envelope = CASE WHEN s.path_id = envs.a THEN envs.eb ELSE envs.ea END
       FROM envs WHERE s.path_id IN (envs.a, envs.b)`,
    );
    await raw(database, `UPDATE spike.policies SET envelope = envelope || '\\x00'::bytea`);
    await assert.rejects(store.getSecret('tenants/one/db'), StoreIntegrityError);
    await assert.rejects(store.listSecretPaths(), StoreIntegrityError);
    const scan = await store.scanSecretPaths();
    assert.deepEqual(scan.paths, []);
    assert.deepEqual(scan.damaged.map((d) => d.name).sort(), ['tenants/one/db', 'tenants/two/db']);
    const policies = await store.scanPolicies();
    assert.deepEqual(policies.policies, []);
    assert.equal(policies.damaged.length, 2);
    const damaged = await store.listDamagedRows();
    assert.equal(damaged.length, 4);
    // Removal deletes damaged rows only, and the rows of that place with them.
    const policy = damaged.find((d) => d.table === 'policies');
    assert.ok(policy);
    assert.equal(await store.removeDamagedRow('policies', policy.id), true);
    const secret = damaged.find((d) => d.table === 'secrets');
    assert.ok(secret);
    assert.equal(await store.removeDamagedRow('secrets', secret.id), true);
    assert.equal(await store.removeDamagedRow('secrets', secret.id), false);
    assert.equal((await store.listDamagedRows()).length, 2);
  });

  it('version rows whose secret row was deleted are an integrity error, and removable', async (t) => {
    const { database, store } = await filled(t);
    await raw(
      database,
      'DELETE FROM spike.secrets WHERE path_id = (SELECT path_id FROM spike.secrets ORDER BY path_id LIMIT 1)',
    );
    const outcomes = await Promise.allSettled(
      ['tenants/one/db', 'tenants/two/db'].map((p) => store.getSecret(p)),
    );
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
    const [orphan] = (await store.scanSecretPaths()).damaged;
    assert.equal(orphan?.kind, 'versions-without-secret');
    assert.equal(await store.removeDamagedRow('secrets', orphan.id), true);
    assert.equal((await store.listSecretPaths()).length, 1);
  });

  it('a root key other than the one recorded is refused', async (t) => {
    const { database } = await filled(t);
    const other = await runtimeStore(t, database);
    await assert.rejects(other.unlock(randomBytes(32)), /key-check/);
    assert.equal(other.isUnlocked(), false);
  });
});

describe('postgres store: several processes on one database', () => {
  it('concurrent writes to one secret from different stores never lose or reuse a version', async (t) => {
    const database = await preparedDatabase(cluster);
    const stores = [
      await runtimeStore(t, database),
      await runtimeStore(t, database),
      await runtimeStore(t, database),
    ];
    for (const s of stores) await s.unlock(key);
    const perStore = 20;
    const results = await Promise.all(
      stores.flatMap((s, i) =>
        Array.from({ length: perStore }, () =>
          s.updateSecret('shared', (current) => {
            const count = Number(current?.versions.at(-1)?.data['count'] ?? '0') + 1;
            return putVersion(
              'shared',
              { count: String(count), by: String(i) },
              { maxVersions: 100 },
            )(current);
          }),
        ),
      ),
    );
    const n = stores.length * perStore;
    assert.deepEqual(
      [...results].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i + 1),
    );
    // Every store sees every write at once (no cache to go stale).
    for (const s of stores) {
      const rec = await s.getSecret('shared');
      assert.equal(rec?.versions.length, n);
      assert.equal(rec?.versions.at(-1)?.data['count'], String(n));
    }
  });
});

describe('postgres store: the policies revision other processes follow', () => {
  it('every committed policy change bumps the revision once, in the same snapshot as the rows', async (t) => {
    const database = await preparedDatabase(cluster);
    const [a, b] = [await runtimeStore(t, database), await runtimeStore(t, database)];
    for (const s of [a, b]) await s.unlock(key);
    const shared = b.sharedPolicies;
    assert.ok(shared !== undefined);
    // The token is `counter/xmin/server start` (ADR 0049); the counter counts the changes.
    const seen = new Set<string>();
    const counter = async (): Promise<string> => {
      const token = await shared.revision();
      assert.match(token, /^\d+\/\d+\/\d+$/);
      seen.add(token);
      return token.split('/')[0] ?? '';
    };
    assert.equal(await counter(), '0');
    await a.putPolicy(samplePolicy('p1'));
    assert.equal(await counter(), '1');
    await a.putPolicy({ ...samplePolicy('p1'), pathPattern: '^other$' });
    await a.putPolicy(samplePolicy('p2'));
    const snap = await shared.scan();
    assert.equal(snap.revision, await shared.revision(), 'the scan is tagged with the token the check reads');
    assert.equal(await counter(), '3');
    assert.deepEqual(
      snap.scan.policies.map((p) => [p.name, p.pathPattern]),
      [
        ['p1', '^other$'],
        ['p2', samplePolicy('p2').pathPattern],
      ],
    );
    // Deleting nothing changes nothing; deleting something is one change.
    assert.equal(await a.deletePolicy('missing'), false);
    assert.equal(await counter(), '3');
    assert.equal(await a.deletePolicy('p2'), true);
    assert.equal(await counter(), '4');
    // Secret writes are not policy changes.
    await a.updateSecret('s', putVersion('s', { k: 'v' }));
    assert.equal(await counter(), '4');
    assert.equal(seen.size, 4, 'one token per state of the policies read (0, 1, 3, 4)');
  });

  it('notifies watchers of other processes, and again after their LISTEN connection was killed', async (t) => {
    const database = await preparedDatabase(cluster);
    const [a, b] = [await runtimeStore(t, database), await runtimeStore(t, database)];
    for (const s of [a, b]) await s.unlock(key);
    const shared = b.sharedPolicies;
    assert.ok(shared !== undefined);
    let hints = 0;
    const waitHints = async (n: number): Promise<void> => {
      for (let i = 0; i < 400 && hints < n; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(hints >= n, `expected ${String(n)} hints, got ${String(hints)}`);
    };
    const stop = shared.watch(() => (hints += 1));
    t.after(stop);
    await waitHints(1); // the first connection
    await a.putPolicy(samplePolicy('n1'));
    await waitHints(2);
    const listening = async () =>
      (
        await cluster.superuser(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'spike-nexus-listen' AND datname = $1",
          [database],
        )
      ).rows;
    assert.equal((await listening()).length, 1);
    const before = hints;
    await cluster.superuser(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'spike-nexus-listen' AND datname = $1",
      [database],
    );
    // The loss itself and the new connection are hints (changes in between were not notified).
    await waitHints(before + 2);
    for (let i = 0; i < 200 && (await listening()).length !== 1; i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.equal((await listening()).length, 1);
    const again = hints;
    await a.putPolicy(samplePolicy('n2'));
    await waitHints(again + 1);
    stop();
    for (let i = 0; i < 200 && (await listening()).length !== 0; i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.equal((await listening()).length, 0);
  });
});

describe('postgres store: a COMMIT whose answer is lost', () => {
  it('is an unknown outcome (never "unavailable"), and the change may indeed be in', async (t) => {
    const database = await preparedDatabase(cluster);
    const proxy = await startCommitFaultProxy(join(cluster.socketDir, `.s.PGSQL.${String(cluster.port)}`));
    t.after(() => proxy.close());
    const store = await runtimeStore(t, database, {
      host: '127.0.0.1',
      port: proxy.port,
      sslMode: 'disable',
    });
    await store.unlock(key);
    await store.updateSecret('s', putVersion('s', { v: '1' }));

    const lost = proxy.loseNextCommitAnswer();
    await assert.rejects(store.updateSecret('s', putVersion('s', { v: '2' })), (err: unknown) => {
      assert.ok(err instanceof StoreOutcomeUnknownError, String(err));
      assert.equal(err instanceof StoreUnavailableError, false);
      assert.equal(err.code, 'api_outcome_unknown');
      assert.equal(err.status, 500);
      return true;
    });
    await lost;
    // It was committed: the next read (a new connection) sees version 2.
    assert.equal((await store.getSecret('s'))?.versions.at(-1)?.data['v'], '2');

    // Policy changes too.
    const lostPolicy = proxy.loseNextCommitAnswer();
    await assert.rejects(store.putPolicy(samplePolicy('p')), StoreOutcomeUnknownError);
    await lostPolicy;
    assert.equal((await store.getPolicy('p'))?.name, 'p');
    assert.equal((await store.sharedPolicies?.revision())?.split('/')[0], '1');

    // A database that is gone before anything was sent stays "unavailable" (503: nothing changed).
    await proxy.close();
    await assert.rejects(store.updateSecret('s', putVersion('s', { v: '3' })), StoreUnavailableError);
  });
});

describe('postgres store: migrations and the schema check', () => {
  it('check mode refuses a database without the schema, naming what to run', async () => {
    const database = await cluster.createDatabase();
    const opening = openPostgresStore({
      connection: socketConnection(cluster, cluster.runtimeRole, database),
      schema: 'check',
    });
    await assert.rejects(opening, (err: unknown) => {
      assert.ok(err instanceof PgSchemaMismatchError);
      assert.equal(err.problem, 'missing');
      assert.match(err.message, /spike-nexus migrate/);
      return true;
    });
    // Nothing was created by the check.
    assert.deepEqual(await raw(database, "SELECT 1 FROM pg_namespace WHERE nspname = 'spike'"), []);
  });

  it('check mode refuses an older and a newer schema', async () => {
    const database = await preparedDatabase(cluster);
    const n = PG_MIGRATIONS.length;
    const later = [...PG_MIGRATIONS, { version: n + 1, name: 'later', statements: ['SELECT 1'] }];
    await asDdlRole(cluster, database, async (client) => {
      await assert.rejects(checkPostgresSchema(client, later), (err: unknown) => {
        assert.ok(err instanceof PgSchemaMismatchError);
        assert.equal(err.problem, 'older');
        assert.match(
          err.message,
          new RegExp(`version ${String(n)}, older than this build needs \\(${String(n + 1)}\\)`),
        );
        return true;
      });
      await client.query("INSERT INTO spike.schema_migrations (version, name) VALUES (7, 'from the future')");
    });
    for (const schema of ['check', 'migrate'] as const) {
      await assert.rejects(
        openPostgresStore({ connection: socketConnection(cluster, cluster.ddlRole, database), schema }),
        /newer than this build supports/,
      );
    }
  });

  it('migrate brings an older schema up in one step and is idempotent, also run concurrently', async () => {
    const database = await cluster.createDatabase();
    const n = PG_MIGRATIONS.length;
    const all = PG_MIGRATIONS.map((m) => m.version);
    const later = [
      ...PG_MIGRATIONS,
      { version: n + 1, name: 'add a table', statements: ['CREATE TABLE spike.later (x int)'] },
    ];
    const results = await Promise.all(
      [0, 1, 2].map(() => asDdlRole(cluster, database, (client) => migratePostgres(client))),
    );
    assert.deepEqual(results.map((r) => r.applied).sort(), [[], [], all]);
    const up = await asDdlRole(cluster, database, (client) => migratePostgres(client, later));
    assert.deepEqual(up, { from: n, to: n + 1, applied: [n + 1] });
    const versions = await raw(database, 'SELECT version FROM spike.schema_migrations ORDER BY version');
    assert.deepEqual(
      versions.map((r): unknown => r['version']),
      [...all, n + 1],
    );
  });

  it('a failing migration applies nothing', async () => {
    const database = await cluster.createDatabase();
    const broken = [
      ...PG_MIGRATIONS,
      {
        version: PG_MIGRATIONS.length + 1,
        name: 'broken',
        statements: ['CREATE TABLE spike.half (x int)', 'SELECT no_such_function()'],
      },
    ];
    await assert.rejects(
      asDdlRole(cluster, database, (client) => migratePostgres(client, broken)),
      new RegExp(`schema migration ${String(PG_MIGRATIONS.length + 1)} \\(broken\\) failed`),
    );
    assert.deepEqual(await raw(database, "SELECT 1 FROM pg_namespace WHERE nspname = 'spike'"), []);
  });

  it('migrate mode (the default) creates the schema at open when the role may', async (t) => {
    const database = await cluster.createDatabase();
    const store = await openPostgresStore({
      connection: socketConnection(cluster, cluster.ddlRole, database),
    });
    t.after(() => store.close());
    await store.unlock(key);
    await store.updateSecret('a', putVersion('a', { v: '1' }));
    assert.deepEqual(await store.listSecretPaths(), ['a']);
  });

  it('runPostgresMigrations migrates and grants the runtime role in one go', async (t) => {
    const database = await cluster.createDatabase();
    const result = await runPostgresMigrations({
      connection: socketConnection(cluster, cluster.ddlRole, database),
      grantRuntimeRole: cluster.runtimeRole.name,
    });
    assert.deepEqual(
      result.applied,
      PG_MIGRATIONS.map((m) => m.version),
    );
    const store = await runtimeStore(t, database);
    await store.unlock(key);
    await store.putPolicy(samplePolicy('p'));
    assert.equal((await store.listPolicies()).length, 1);
  });
});

describe('postgres store: the runtime role has exactly the documented grants', () => {
  it('the grants are what the docs list, and the migration needs nothing else', () => {
    assert.deepEqual(runtimeGrants('spike_app'), [
      'GRANT USAGE ON SCHEMA spike TO "spike_app"',
      'GRANT SELECT ON spike.schema_migrations TO "spike_app"',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON spike.secrets, spike.secret_versions, spike.policies TO "spike_app"',
      'GRANT SELECT, INSERT ON spike.meta TO "spike_app"',
      'GRANT SELECT, UPDATE ON spike.revisions TO "spike_app"',
      'GRANT SELECT, INSERT, UPDATE ON spike.root_keys TO "spike_app"',
    ]);
    assert.throws(() => runtimeGrants('x; DROP TABLE y'), RangeError);
    assert.equal(latestPgSchemaVersion(), 3);
  });

  it('with them the runtime role may not change the schema, the key-check value or the migrations', async (t) => {
    const { database } = await filled(t);
    const password = (await import('node:fs')).readFileSync(cluster.runtimeRole.passwordFile, 'utf8').trim();
    const client = new pg.Client({
      host: cluster.socketDir,
      port: cluster.port,
      database,
      user: cluster.runtimeRole.name,
      password,
    });
    await client.connect();
    t.after(() => client.end());
    const denied = async (sql: string): Promise<void> => {
      await assert.rejects(client.query(sql), (err: unknown) => {
        assert.ok(err instanceof pg.DatabaseError, sql);
        assert.equal(err.code, '42501', sql); // insufficient_privilege
        return true;
      });
    };
    await denied('CREATE TABLE spike.extra (x int)');
    await denied('CREATE TABLE public.extra (x int)');
    await denied('DROP TABLE spike.secrets');
    await denied('ALTER TABLE spike.secrets ADD COLUMN x int');
    await denied("UPDATE spike.meta SET value = '\\x00'");
    await denied('DELETE FROM spike.meta');
    await denied('DELETE FROM spike.revisions');
    await denied("INSERT INTO spike.revisions (name, revision) VALUES ('x', 0)");
    await denied("INSERT INTO spike.schema_migrations (version, name) VALUES (9, 'x')");
    await denied('DELETE FROM spike.schema_migrations');
    await denied('TRUNCATE spike.secrets');
    await denied('CREATE SCHEMA other');
  });

  it('migrate mode as the runtime role opens a current schema (no DDL) but cannot create one', async (t) => {
    const database = await preparedDatabase(cluster);
    const store = await openPostgresStore({
      connection: socketConnection(cluster, cluster.runtimeRole, database),
    });
    t.after(() => store.close());
    const fresh = await cluster.createDatabase();
    await assert.rejects(
      openPostgresStore({ connection: socketConnection(cluster, cluster.runtimeRole, fresh) }),
      (err: unknown) => {
        assert.ok(err instanceof StoreSchemaError);
        assert.match(err.message, /cannot create the schema "spike".*permission denied/);
        return true;
      },
    );
  });
});

describe('postgres store: connections', () => {
  it('a database refusing connections at start is reported after the initialization timeout', async () => {
    const connection = { ...socketConnection(cluster, cluster.runtimeRole, 'postgres'), port: 1 };
    await assert.rejects(openPostgresStore({ connection, initializationTimeoutMs: 300 }), (err: unknown) => {
      assert.ok(err instanceof StoreUnavailableError);
      assert.match(
        err.message,
        /cannot connect to PostgreSQL \(unix socket in .*, database postgres, user spike_app\) within 300 ms/,
      );
      return true;
    });
  });

  it('a wrong or missing password fails at once, and the password is never in the error', async (t) => {
    const database = await preparedDatabase(cluster);
    const wrong = join(cluster.socketDir, 'wrong.password');
    writeFileSync(wrong, 'not-the-password-xyzzy\n', { mode: 0o600 });
    await assert.rejects(
      openPostgresStore({
        connection: { ...socketConnection(cluster, cluster.runtimeRole, database), passwordFile: wrong },
        schema: 'check',
        initializationTimeoutMs: 60_000,
      }),
      (err: unknown) => {
        assert.ok(err instanceof pg.DatabaseError);
        assert.equal(err.code, '28P01');
        assert.equal(JSON.stringify({ m: err.message, s: err.stack }).includes('xyzzy'), false);
        return true;
      },
    );
    const noFile = { ...socketConnection(cluster, cluster.runtimeRole, database), passwordFile: undefined };
    await assert.rejects(openPostgresStore({ connection: noFile, schema: 'check' }), PostgresPasswordError);
    const missing = {
      ...socketConnection(cluster, cluster.runtimeRole, database),
      passwordFile: '/nonexistent/pw',
    };
    await assert.rejects(
      openPostgresStore({ connection: missing, schema: 'check' }),
      /cannot read the password file/,
    );
    // The file is read per new connection: a rotated password takes effect without a restart.
    const rotating = join(cluster.socketDir, 'rotating.password');
    writeFileSync(rotating, (await import('node:fs')).readFileSync(cluster.runtimeRole.passwordFile));
    const store = await runtimeStore(t, database, { passwordFile: rotating });
    await store.unlock(key);
    await cluster.superuser(`ALTER ROLE ${cluster.runtimeRole.name} PASSWORD 'rotated-password'`);
    t.after(async () => {
      const original = (await import('node:fs'))
        .readFileSync(cluster.runtimeRole.passwordFile, 'utf8')
        .trim();
      await cluster.superuser(`ALTER ROLE ${cluster.runtimeRole.name} PASSWORD '${original}'`);
    });
    writeFileSync(rotating, 'rotated-password\n');
    const again = await runtimeStore(t, database, { passwordFile: rotating });
    await again.unlock(key);
    assert.equal(await again.isInitialized(), true);
  });

  it('a server restart: calls meanwhile fail as unavailable, later calls reconnect, no acknowledged write is lost', async (t) => {
    const database = await preparedDatabase(cluster);
    const store = await runtimeStore(t, database);
    await store.unlock(key);
    const acknowledged: number[] = [];
    for (let i = 0; i < 5; i++)
      acknowledged.push(await store.updateSecret('r', putVersion('r', { i: String(i) })));
    // Writes racing the shutdown either commit (and are acknowledged) or fail; none is half done.
    const racing = Array.from({ length: 10 }, (_, i) =>
      store.updateSecret('r', putVersion('r', { i: `racing-${String(i)}` }, { maxVersions: 100 })),
    );
    const restarting = cluster.restart();
    const outcomes = await Promise.allSettled(racing);
    await restarting;
    for (const o of outcomes) {
      if (o.status === 'fulfilled') acknowledged.push(o.value);
      else assert.ok(o.reason instanceof StoreUnavailableError || isUnavailable(o.reason), String(o.reason));
    }
    // The pool replaces the connections the restart broke; a call may still meet one broken
    // connection first, so retry briefly as a client would.
    let rec;
    for (let attempt = 0; ; attempt++) {
      try {
        rec = await store.getSecret('r');
        break;
      } catch (err) {
        assert.ok(err instanceof StoreUnavailableError, String(err));
        if (attempt > 20) throw err;
      }
    }
    const kept = new Set(rec?.versions.map((v) => v.version));
    for (const v of acknowledged) assert.ok(kept.has(v), `acknowledged version ${String(v)} is kept`);
    assert.ok((await store.updateSecret('r', putVersion('r', { after: 'restart' }))) > 5);
  });
});
