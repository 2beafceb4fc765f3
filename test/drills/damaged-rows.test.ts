/**
 * Damaged store rows, with real processes (dev identity issuer, three keepers, Nexus on SQLite,
 * bootstrap, the `spike` CLI): while Nexus is down, its database file is tampered with the way
 * someone holding the file would (two policy rows swapped, one byte of a secret row flipped, one
 * byte of a version row of another secret flipped).
 * Nexus must still recover its root key from the keepers and serve everything else; the damaged
 * policies grant nothing; the operator sees the damage (log, health count, CLI warnings, the
 * damaged-row listing with names where they can be told), a full restore from recovery files
 * works, and removing the damaged rows is explicit.
 *
 * docs/operations.md names this drill in its damaged-row runbook.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createSpikeClient, isSpikeError, type SpikeClient } from '@spike-ts/sdk';
import { SQLITE_FILE_NAME } from '@spike-ts/store';
import { Drill } from './drill-kit.ts';

const GRANT = { spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$', permissions: ['read'] as const };

function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

interface Row {
  table: string;
  id: string;
  version?: number;
  kind: string;
  name?: string;
}

describe('damaged store rows (real processes)', { timeout: 300_000 }, () => {
  let drill: Drill;
  let files: Map<number, string>;
  let demo: SpikeClient | undefined;

  const spike = (args: string[], identity: 'pilot' | 'pilot-restore' = 'pilot', input?: string) =>
    drill.stack.runSpike(identity, args, input);

  /** Reads as the demo workload: the value, or the SDK error code. */
  const demoRead = async (path: string): Promise<string> => {
    demo ??= await createSpikeClient({
      source: await drill.source('demo'),
      nexusUrl: drill.stack.nexusUrl,
      env: {},
      timeoutMs: 10_000,
    });
    try {
      return (await demo.getSecret(path))['v'] ?? '';
    } catch (err) {
      if (isSpikeError(err)) return err.code;
      throw err;
    }
  };

  before(async () => {
    drill = await Drill.start();
    const pilot = await drill.pilot();
    await pilot.putPolicy({ name: 'drill-grant-a', pathPattern: '^drill/a/.*$', ...GRANT });
    await pilot.putPolicy({ name: 'drill-grant-b', pathPattern: '^drill/b/.*$', ...GRANT });
    await pilot.putPolicy({ name: 'drill-grant-c', pathPattern: '^drill/c/.*$', ...GRANT });
    for (const p of ['drill/a/x', 'drill/b/y', 'drill/c/z']) await pilot.putSecret(p, { v: p });
    // The one secret with two versions: its first version row is damaged below.
    await pilot.putSecret('drill/v/multi', { v: 'one' });
    await pilot.putSecret('drill/v/multi', { v: 'two' });
    files = await drill.recover();
    assert.equal(await demoRead('drill/a/x'), 'drill/a/x');
  });

  after(async () => {
    await demo?.close();
    await drill?.close();
  });

  it('tampered file: Nexus recovers, serves the rest, the damaged policies grant nothing, the operator sees it', async () => {
    const { stack } = drill;
    await demo?.close();
    demo = undefined;
    await stack.stopNexus();

    // Swap the rows of two policies and flip one byte of one secret row, as a file holder could.
    const db = new DatabaseSync(join(stack.dataDir, 'data', SQLITE_FILE_NAME));
    try {
      const policies = db.prepare('SELECT name_id, envelope FROM policies ORDER BY name_id').all();
      assert.equal(policies.length, 3);
      const update = db.prepare('UPDATE policies SET envelope = ? WHERE name_id = ?');
      update.run(policies[1]!['envelope'] as Uint8Array, policies[0]!['name_id'] as Uint8Array);
      update.run(policies[0]!['envelope'] as Uint8Array, policies[1]!['name_id'] as Uint8Array);
      const multi = 'SELECT path_id FROM secret_versions WHERE version = 2';
      const secret = db
        .prepare(
          `SELECT path_id, envelope FROM secrets WHERE path_id NOT IN (${multi}) ORDER BY path_id LIMIT 1`,
        )
        .get()!;
      const env = Uint8Array.from(secret['envelope'] as Uint8Array);
      env[env.length - 5]! ^= 0x40;
      db.prepare('UPDATE secrets SET envelope = ? WHERE path_id = ?').run(
        env,
        secret['path_id'] as Uint8Array,
      );
      const version = db
        .prepare(`SELECT path_id, envelope FROM secret_versions WHERE version = 1 AND path_id IN (${multi})`)
        .get()!;
      const venv = Uint8Array.from(version['envelope'] as Uint8Array);
      venv[venv.length - 3]! ^= 0x10;
      db.prepare('UPDATE secret_versions SET envelope = ? WHERE path_id = ? AND version = 1').run(
        venv,
        version['path_id'] as Uint8Array,
      );
    } finally {
      db.close();
    }

    const mark = drill.logMark('nexus');
    await drill.startNexus();
    await drill.waitReady();
    const log = await drill.logMatching('nexus', mark, /damaged secret row/);
    assert.match(log, /"source":"keepers"/);
    const damagedPolicies = log
      .split('\n')
      .filter((l) => l.includes('damaged policy row'))
      .map((l) => (JSON.parse(l) as { name?: string }).name);
    assert.equal(damagedPolicies.length, 2);
    assert.doesNotMatch(log, /no combination of the keepers' shares/);
    assert.deepEqual((await readyz(stack.opts.healthPort)).body, { ready: true, damagedRows: 3 });

    // The damaged policies are named (swapped rows name each other) and grant nothing; the third still grants.
    const names = damagedPolicies.sort();
    const intact = ['drill-grant-a', 'drill-grant-b', 'drill-grant-c'].find((n) => !names.includes(n));
    assert.ok(intact !== undefined && names.every((n) => n?.startsWith('drill-grant-')));
    for (const [name, path] of [
      ['drill-grant-a', 'drill/a/x'],
      ['drill-grant-b', 'drill/b/y'],
      ['drill-grant-c', 'drill/c/z'],
    ] as const) {
      const got = await demoRead(path);
      if (name === intact) assert.ok(got === path || got === 'api_internal_error', `${path}: ${got}`);
      else assert.equal(got, 'access_unauthorized', `${path} must not be granted by the damaged ${name}`);
    }

    // CLI: the listings serve the rest and warn; the damaged-row listing names what it can.
    const secrets = await spike(['secret', 'list', '-f', 'json']);
    assert.equal(secrets.code, 0, secrets.stderr);
    assert.equal((JSON.parse(secrets.stdout) as string[]).length, 3);
    assert.match(secrets.stderr, /Warning: 1 damaged secret row\(s\) could not be read/);
    // The damaged version is found when read; the secret's other version reads.
    const v1 = await spike(['secret', 'get', 'drill/v/multi', '-v', '1']);
    assert.notEqual(v1.code, 0);
    assert.doesNotMatch(v1.stdout, /one/);
    assert.equal((await spike(['secret', 'get', 'drill/v/multi', 'v'])).stdout, 'two\n');
    const policies = await spike(['policy', 'list', '-f', 'json']);
    assert.equal(policies.code, 0, policies.stderr);
    assert.deepEqual(
      (JSON.parse(policies.stdout) as { name: string }[]).map((p) => p.name),
      [intact],
    );
    assert.match(
      policies.stderr,
      /Warning: 2 damaged policy row\(s\) could not be read \(they grant nothing/,
    );
    // The warning names the damaged policies (swapped rows name each other).
    const among = `Among them: ${names.map((n) => `'${String(n)}'`).join(', ')}.`;
    assert.ok(policies.stderr.includes(among), policies.stderr);
    const listed = await spike(['operator', 'damaged', 'list', '-f', 'json']);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as Row[];
    assert.deepEqual(
      rows.map((r) => [r.table, r.kind]),
      [
        ['policies', 'unreadable'],
        ['policies', 'unreadable'],
        ['secrets', 'unreadable'],
        ['secret_versions', 'unreadable'],
      ],
    );
    // The version row is named by its secret, with its version.
    const versionRow = rows.find((r) => r.table === 'secret_versions');
    assert.deepEqual([versionRow?.version, versionRow?.name], [1, 'drill/v/multi']);
    assert.deepEqual(
      rows
        .filter((r) => r.table === 'policies')
        .map((r) => r.name)
        .sort(),
      names,
    );
    const human = await spike(['operator', 'damaged', 'list']);
    assert.equal(human.code, 0, human.stderr);
    for (const r of rows) assert.ok(human.stdout.includes(r.id));
    assert.match(human.stdout, /^TABLE {2}ID {2}VERSION {2}KIND {2}NAME$/m);
    assert.match(human.stdout, /^secret_versions {2}[0-9a-f]{64} {2}1 {2}unreadable {2}'drill\/v\/multi'$/m);
  });

  it('Nexus and every keeper lost: restore with the right recovery files succeeds despite the damage', async () => {
    const { stack } = drill;
    await demo?.close();
    demo = undefined;
    await stack.killNexus();
    await Promise.all([0, 1, 2].map((i) => stack.killKeeper(i)));
    await stack.startKeepers();
    await drill.startNexus();
    assert.equal(await stack.nexusState(), 'not-ready');
    const first = await spike(['operator', 'restore'], 'pilot-restore', files.get(1));
    assert.equal(first.code, 0, first.stderr);
    const second = await spike(['operator', 'restore'], 'pilot-restore', files.get(3));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /SPIKE is now restored and ready to use/);
    await drill.waitReady();
    assert.deepEqual((await readyz(stack.opts.healthPort)).body, { ready: true, damagedRows: 3 });
  });

  it('removing damaged rows is explicit; afterwards the store is whole again and a policy can be re-created', async () => {
    const listed = await spike(['operator', 'damaged', 'list', '-f', 'json']);
    const rows = JSON.parse(listed.stdout) as Row[];
    assert.equal(rows.length, 4);
    const [first] = rows;
    assert.ok(first !== undefined);

    // Without --yes and without a terminal, nothing is removed.
    const refused = await spike(['operator', 'damaged', 'remove', first.table, first.id]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /Re-run with --yes/);
    // Bad arguments fail before anything is sent; a role other than the superuser is refused.
    assert.equal((await spike(['operator', 'damaged', 'remove', 'versions', first.id, '--yes'])).code, 1);
    assert.equal((await spike(['operator', 'damaged', 'list'], 'pilot-restore')).code, 4);

    const versionRow = rows.find((r) => r.table === 'secret_versions')!;
    // A version row needs its version; another table takes none.
    assert.equal(
      (await spike(['operator', 'damaged', 'remove', 'secret_versions', versionRow.id, '--yes'])).code,
      1,
    );
    assert.equal(
      (await spike(['operator', 'damaged', 'remove', 'secrets', versionRow.id, '1', '--yes'])).code,
      1,
    );
    for (const r of rows) {
      const version = r.version === undefined ? [] : [String(r.version)];
      const res = await spike(['operator', 'damaged', 'remove', r.table, r.id, ...version, '--yes']);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /removed/);
    }
    const again = await spike(['operator', 'damaged', 'remove', first.table, first.id, '--yes']);
    assert.equal(again.code, 3, again.stderr);
    assert.match(again.stderr, /No damaged .* row/);
    assert.deepEqual(JSON.parse((await spike(['operator', 'damaged', 'list', '-f', 'json'])).stdout), []);
    assert.deepEqual((await readyz(drill.stack.opts.healthPort)).body, { ready: true });
    const secrets = await spike(['secret', 'list']);
    assert.equal(secrets.code, 0, secrets.stderr);
    assert.doesNotMatch(secrets.stderr, /Warning/);
    // The secret of the removed version: that version is not found (no longer a 500), the other
    // reads, and it is written again.
    const gone = await spike(['secret', 'get', 'drill/v/multi', '-v', '1']);
    assert.equal(gone.code, 3, gone.stderr);
    assert.equal((await spike(['secret', 'get', 'drill/v/multi', 'v'])).stdout, 'two\n');
    assert.equal((await spike(['secret', 'put', 'drill/v/multi', 'v=three'])).code, 0);
    assert.equal((await spike(['secret', 'get', 'drill/v/multi', 'v'])).stdout, 'three\n');

    const pilot = await drill.pilot();
    for (const x of ['a', 'b', 'c']) {
      await pilot.putPolicy({ name: `drill-grant-${x}`, pathPattern: `^drill/${x}/.*$`, ...GRANT });
    }
    const readable = await Promise.all(['drill/a/x', 'drill/b/y', 'drill/c/z'].map((p) => demoRead(p)));
    // Two of the three secrets survived; the one whose row was damaged is gone (not found).
    assert.equal(readable.filter((v) => v.startsWith('drill/')).length, 2, readable.join(', '));
    assert.equal(readable.filter((v) => v === 'api_not_found').length, 1);
  });
});
