/**
 * Database faults on PostgreSQL, with real processes (private cluster, three keepers, bootstrap,
 * two `spike-nexus` replicas on one database, dev identities, real mTLS):
 *
 * - a database that refuses connections when Nexus starts (server down, wrong password, no such
 *   database) gives a start-up error naming the setting to check; a Nexus started before its
 *   database waits for it (up to SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT) and then serves;
 * - rows tampered with in the live database, as someone with write access to it could (a byte
 *   of a ciphertext flipped, a version row moved to another secret, two version numbers swapped,
 *   two policy rows swapped), are never served by any replica, although every replica had read
 *   (and cached) those rows before: the same guarantees as SQLite
 *   (test/drills/damaged-rows.test.ts) — the rest is still served, the damage is listed, damaged
 *   policies grant nothing.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSpikeClient, isSpikeError, type SpikeClient } from '@spike-ts/sdk';
import { BIN } from '../../scripts/stack.ts';
import { waitFor } from './drill-kit.ts';
import { postgresEnv, ReplicaSet } from './replica-kit.ts';

const GRANT = { spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$', permissions: ['read'] as const };

/** A value, or the SDK error code with its HTTP status. */
async function read(client: SpikeClient, path: string, version?: number): Promise<string> {
  try {
    return (await client.getSecret(path, version))['v'] ?? '(no v)';
  } catch (err) {
    if (isSpikeError(err)) return `${String(err.status)} ${err.code}`;
    throw err;
  }
}

describe('PostgreSQL database faults (real processes)', { timeout: 600_000 }, () => {
  let set: ReplicaSet;
  let starts = 0;

  before(async () => {
    set = await ReplicaSet.start(2);
  });
  after(async () => {
    await set?.close();
  });

  /** Starts one more Nexus on the same stack with `env` over the replicas' settings. */
  const nexus = (env: Record<string, string>) => {
    starts++;
    return set.drill.stack.startClient(`nexus-start-${String(starts)}`, BIN.nexus, [], 'nexus', {
      ...set.drill.stack.opts.nexusEnv,
      SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
      SPIKE_NEXUS_HEALTH_ADDR: 'off',
      SPIKE_NEXUS_DATA_DIR: join(set.drill.dir, `nexus-start-${String(starts)}`),
      SPIKE_NEXUS_AUDIT_LOG: join(set.drill.dir, `audit-start-${String(starts)}.jsonl`),
      SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT: '1s',
      SPIKE_SYSTEM_LOG_LEVEL: 'INFO',
      ...env,
    });
  };
  const failedStart = async (env: Record<string, string>): Promise<string> => {
    const proc = nexus(env);
    assert.equal(await proc.exited, 1, proc.stderr() + proc.stdout());
    return proc.stdout() + proc.stderr();
  };

  it('a database that refuses connections at start: a clear error naming the setting; started early, Nexus waits for it', async () => {
    const { cluster } = set;
    // A wrong password: refused at once, the password file named, no password printed.
    const wrong = join(set.drill.dir, 'wrong.password');
    writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
    const denied = await failedStart({ SPIKE_NEXUS_POSTGRES_PASSWORD_FILE: wrong });
    assert.match(
      denied,
      /cannot start: cannot open the PostgreSQL database \(unix socket in .*, database spike_test_\d+, user spike_app\): .*password authentication failed.*SPIKE_NEXUS_POSTGRES_PASSWORD_FILE/,
    );
    assert.equal(denied.includes('not-the-password'), false);

    // No such database: the URL named.
    const url = postgresEnv(cluster, 'spike_no_such_db')['SPIKE_NEXUS_POSTGRES_URL']!;
    const missing = await failedStart({ SPIKE_NEXUS_POSTGRES_URL: url });
    assert.match(missing, /database "spike_no_such_db" does not exist.*Check SPIKE_NEXUS_POSTGRES_URL/);

    // The server is down: Nexus keeps trying for the initialization timeout, then says what to check.
    const pid = set.postmasterPid();
    process.kill(pid, 'SIGINT');
    await waitFor('PostgreSQL to stop', 60_000, () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    const down = await failedStart({});
    assert.match(
      down,
      /cannot connect to PostgreSQL \(unix socket in .*, database spike_test_\d+, user spike_app\) within 1000 ms: .*Check SPIKE_NEXUS_POSTGRES_URL and that the database accepts connections \(waited SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT\)/,
    );

    // Started before its database, with time to wait: it comes up by itself once the database does.
    const early = nexus({
      SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT: '5m',
      SPIKE_NEXUS_HEALTH_ADDR: '127.0.0.1:0',
    });
    await cluster.restart();
    await waitFor('the early Nexus to get its root key', 60_000, () => {
      if (early.child.exitCode !== null) throw new Error(`it exited:\n${early.stdout()}${early.stderr()}`);
      return /root key installed; Nexus is ready/.test(early.stdout() + early.stderr());
    });
    await early.stop();
    // The replicas that were running reconnect as well.
    for (let i = 0; i < set.size; i++) {
      await waitFor(
        `replica ${String(i)} to serve again`,
        60_000,
        async () => (await read(await set.pilotOn(i), 'nothing/here')) === '404 api_not_found',
      );
    }
  });

  it('tampered rows in the live database are never served by any replica; the rest is; damaged policies grant nothing', async () => {
    const { cluster, database } = set;
    const sql = <T extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
      cluster.superuser<T>(text, params, database);
    const ids = async (table: 'secrets' | 'policies'): Promise<Set<string>> => {
      const column = table === 'secrets' ? 'path_id' : 'name_id';
      const r = await sql<{ id: Buffer }>(`SELECT ${column} AS id FROM spike.${table}`);
      return new Set(r.rows.map((row) => row.id.toString('hex')));
    };
    /** Runs `write` and returns the lookup id of the one row it added to `table`. */
    const newRow = async (table: 'secrets' | 'policies', write: () => Promise<void>): Promise<Buffer> => {
      const before = await ids(table);
      await write();
      const added = [...(await ids(table))].filter((id) => !before.has(id));
      assert.equal(added.length, 1);
      return Buffer.from(added[0]!, 'hex');
    };

    const pilot = await set.pilotOn(0);
    const id: Record<string, Buffer> = {};
    for (const name of ['flip', 'moved-from', 'moved-to', 'swapped', 'head', 'intact']) {
      id[name] = await newRow('secrets', () => pilot.putSecret(`tamper/${name}`, { v: `${name}-1` }));
    }
    await pilot.putSecret('tamper/flip', { v: 'flip-2' });
    await pilot.putSecret('tamper/swapped', { v: 'swapped-2' });
    const policy: Record<string, Buffer> = {};
    for (const x of ['a', 'b', 'c']) {
      policy[x] = await newRow('policies', () =>
        pilot.putPolicy({ name: `tamper-grant-${x}`, pathPattern: `^tamper/${x}/.*$`, ...GRANT }),
      );
      await pilot.putSecret(`tamper/${x}/s`, { v: x });
    }

    // Every replica reads every secret first, so that their rows sit in its read cache: what is
    // tampered with below must not be served from there either.
    for (let i = 0; i < set.size; i++) {
      const client = await set.pilotOn(i);
      for (const name of ['flip', 'moved-from', 'moved-to', 'swapped', 'head', 'intact']) {
        assert.match(await read(client, `tamper/${name}`), new RegExp(`^${name}-`));
        assert.equal(await read(client, `tamper/${name}`, 1), `${name}-1`);
      }
    }

    // As someone with write access to the database: flip one byte of the current version of
    // `flip` and one of the secret row of `head`; put the version row of `moved-from` in the place of `moved-to`'s; swap the version
    // numbers 1 and 2 of `swapped`; swap the rows of two policies.
    await sql(
      `UPDATE spike.secret_versions SET envelope = overlay(envelope placing
         set_byte(substring(envelope from 20 for 1), 0, get_byte(envelope, 19) # 64) from 20 for 1)
       WHERE path_id = $1 AND version = 2`,
      [id['flip']],
    );
    await sql(
      `UPDATE spike.secrets SET envelope = overlay(envelope placing
         set_byte(substring(envelope from 20 for 1), 0, get_byte(envelope, 19) # 64) from 20 for 1)
       WHERE path_id = $1`,
      [id['head']],
    );
    await sql(
      `UPDATE spike.secret_versions SET envelope =
         (SELECT envelope FROM spike.secret_versions WHERE path_id = $1 AND version = 1)
       WHERE path_id = $2 AND version = 1`,
      [id['moved-from'], id['moved-to']],
    );
    for (const [from, to] of [
      [1, 1000],
      [2, 1],
      [1000, 2],
    ]) {
      await sql('UPDATE spike.secret_versions SET version = $2 WHERE path_id = $1 AND version = $3', [
        id['swapped'],
        to,
        from,
      ]);
    }
    await sql(
      `UPDATE spike.policies p SET envelope = o.envelope FROM spike.policies o
       WHERE (p.name_id, o.name_id) IN (($1::bytea, $2::bytea), ($2::bytea, $1::bytea))`,
      [policy['a'], policy['b']],
    );

    // Every replica, at once (no restart): nothing tampered is served, the rest is.
    for (let i = 0; i < set.size; i++) {
      const client = await set.pilotOn(i);
      const served = async (path: string, version?: number) => read(client, path, version);
      assert.equal(await served('tamper/flip'), '500 api_internal_error');
      assert.equal(await served('tamper/flip', 1), 'flip-1');
      assert.equal(await served('tamper/moved-to'), '500 api_internal_error');
      assert.equal(await served('tamper/moved-from'), 'moved-from-1');
      assert.equal(await served('tamper/swapped'), '500 api_internal_error');
      assert.equal(await served('tamper/swapped', 1), '500 api_internal_error');
      assert.equal(await served('tamper/head'), '500 api_internal_error');
      assert.equal(await served('tamper/intact'), 'intact-1');
      // Damaged secret, policy and version rows are listed (by place, never by content) on every
      // replica; version rows of a readable secret with its path (those of `head` go with it).
      const damaged = await client.listDamagedRows();
      const hex = (name: string): string => id[name]!.toString('hex');
      assert.deepEqual(
        damaged
          .map((r) => `${r.table} ${r.id}${r.version === undefined ? '' : `/${String(r.version)}`} ${r.kind}`)
          .sort(),
        [
          `secrets ${hex('head')} unreadable`,
          ...['a', 'b'].map((x) => `policies ${policy[x]!.toString('hex')} unreadable`),
          `secret_versions ${hex('flip')}/2 unreadable`,
          `secret_versions ${hex('moved-to')}/1 unreadable`,
          `secret_versions ${hex('swapped')}/1 unreadable`,
          `secret_versions ${hex('swapped')}/2 unreadable`,
        ].sort(),
      );
      assert.deepEqual(
        damaged
          .filter((r) => r.table === 'secret_versions')
          .map((r) => r.name)
          .sort(),
        ['tamper/flip', 'tamper/moved-to', 'tamper/swapped', 'tamper/swapped'],
      );
      const listed = await client.listSecretsReport();
      assert.equal(listed.damagedRows, 1);
      assert.equal(listed.keys.includes('tamper/head'), false);
      assert.ok(listed.keys.includes('tamper/intact'));
    }

    // A replica started now (it loads the policies afresh): the swapped policies grant nothing,
    // the intact one still does; it reports the damage on its health listener.
    await set.kill(1);
    const mark = set.log(1).length;
    await set.restart(1);
    await set.waitReady(1);
    await waitFor('the restarted replica to log the damage', 10_000, () =>
      /damaged policy row/.test(set.log(1).slice(mark)),
    );
    const demo = await createSpikeClient({
      source: await set.drill.source('demo'),
      nexusUrl: set.url(1),
      env: {},
      timeoutMs: 10_000,
    });
    try {
      assert.equal(await read(demo, 'tamper/a/s'), '401 access_unauthorized');
      assert.equal(await read(demo, 'tamper/b/s'), '401 access_unauthorized');
      assert.equal(await read(demo, 'tamper/c/s'), 'c');
    } finally {
      await demo.close();
    }
    const report = await (await set.pilotOn(1)).listPoliciesReport();
    assert.deepEqual(
      report.policies.map((p) => p.name).filter((n) => n.startsWith('tamper-')),
      ['tamper-grant-c'],
    );
    assert.equal(report.damagedRows, 2);
  });
});
