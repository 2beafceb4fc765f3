/**
 * Root-key custody failure drills, with real processes: the dev identity issuer, three keepers,
 * Nexus on SQLite, bootstrap and the `spike` CLI, all started by `scripts/stack.ts` on free
 * ports. The drills share one system and run in order; each one ends with the system healthy
 * again (Nexus ready, every keeper holding its share). Nothing may be lost in any of them.
 *
 * docs/operations.md names these drills in its disaster-recovery runbook.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateRootKey, splitRootKey } from '@spike-ts/core';
import {
  Drill,
  formatRecoveryText,
  parseRecoveryText,
  waitFor,
  type Share,
  type Snapshot,
} from './drill-kit.ts';
import { DEMO_POLICIES } from '../../scripts/stack.ts';

/** The runbook uses the sqlite3 CLI; `.ci/run` installs it (Debian package `sqlite3`). */
function requireSqlite3(): void {
  try {
    execFileSync('sqlite3', ['-version'], { stdio: 'ignore' });
  } catch {
    assert.fail('the sqlite3 CLI is required for the backup drill: apt-get install sqlite3');
  }
}

describe('root-key custody drills (real processes)', { timeout: 300_000 }, () => {
  let drill: Drill;
  /** The recovery files written by `spike operator recover` right after bootstrap. */
  let files: Map<number, string>;
  let shares: Share[];

  const share = (id: number): Share => {
    const s = shares.find((x) => x.id === id);
    assert.ok(s !== undefined);
    return s;
  };

  const assertSnapshot = async (expected: Snapshot): Promise<void> => {
    assert.deepEqual(await drill.snapshot(), expected);
  };

  const restore = (text: string) => drill.stack.runSpike('pilot-restore', ['operator', 'restore'], text);

  before(async () => {
    drill = await Drill.start();
    const { stack } = drill;
    for (const res of await stack.applyDemoPolicies()) assert.equal(res.code, 0, res.stderr);
    const put = await stack.runSpike('pilot', [
      'secret',
      'put',
      'tenants/demo/db/creds',
      'username=SPIKE',
      'password=SPIKE_Rocks',
    ]);
    assert.equal(put.code, 0, put.stderr);
    const client = await drill.pilot();
    for (let i = 0; i < 5; i++)
      await client.putSecret(`drill/base/${String(i)}`, { i: String(i), x: 'y'.repeat(i) });
    files = await drill.recover();
    assert.deepEqual([...files.keys()].sort(), [1, 2, 3]);
    shares = [...files.values()].map(parseRecoveryText);
  });

  after(async () => {
    await drill?.close();
  });

  it('drill 5: bootstrap run again against the live system is refused and changes nothing', async () => {
    const before = await drill.snapshot();
    const res = await drill.bootstrap();
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /refusing to bootstrap/);
    assert.match(res.stderr, /already initialized/);
    assert.match(res.stderr, /Nothing was changed/);
    assert.match(res.stderr, /--force/);
    // Nothing changed: same data, Nexus still holds the same key, keepers the same shares.
    assert.equal(await drill.stack.nexusState(), 'ready');
    await assertSnapshot(before);
    assert.deepEqual(await drill.recover(), files);
    await drill.assertKeepersHold(files);
  });

  it('drill 1: kill -9 Nexus under a write load; it recovers from the keepers and every acknowledged write reads back', async (t) => {
    const { stack } = drill;
    const load = drill.startWriteLoad('drill/load');
    try {
      await load.waitAcks(40);
      await stack.killNexus();
      const errorsAtKill = load.errors();
      await load.waitErrors(errorsAtKill + 3);
      const ackedBeforeKill = load.acks();
      assert.equal(await stack.nexusState(), 'down');

      const mark = drill.logMark('nexus');
      await drill.startNexus();
      await drill.waitReady();
      // Ready from the keepers alone: nobody restored anything.
      await drill.logMatching('nexus', mark, /root key installed; Nexus is ready.*"source":"keepers"/);

      // The load goes on against the restarted Nexus.
      await load.waitAcks(ackedBeforeKill.size + 20);
      await load.stop();
      const acked = load.acks();
      for (const [path, value] of ackedBeforeKill) assert.equal(acked.get(path), value);

      const client = await drill.pilot();
      for (const [path, value] of acked) {
        const seq = path.slice(path.lastIndexOf('/') + 1);
        assert.deepEqual(await client.getSecret(path), { seq, value }, `acknowledged write ${path} lost`);
      }
      assert.ok(ackedBeforeKill.size >= 40);
      t.diagnostic(
        `${String(acked.size)} acknowledged writes read back (${String(ackedBeforeKill.size)} before the kill); ` +
          `${String(load.errors())} attempts failed while Nexus was down or recovering`,
      );
    } finally {
      await load.proc.stop('SIGKILL');
    }
  });

  it('drill 2: one keeper dies: Nexus keeps serving; restarted empty, the heartbeat re-seeds it', async () => {
    const { stack } = drill;
    const before = await drill.snapshot();
    await stack.killKeeper(0);
    const client = await drill.pilot();
    await client.putSecret('drill/keeper-loss/during', { written: 'while keeper 1 was down' });
    assert.deepEqual(await client.getSecret('drill/keeper-loss/during'), {
      written: 'while keeper 1 was down',
    });
    assert.equal(await stack.nexusState(), 'ready');
    const expected = {
      ...before.secrets,
      'drill/keeper-loss/during': { written: 'while keeper 1 was down' },
    };

    const mark = drill.logMark('nexus');
    await stack.startKeeper(0);
    // SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL is 10m in the drills: only the 1s heartbeat can do this.
    await drill.waitKeeperHolds(0, share(1).shard);
    await drill.logMatching(
      'nexus',
      mark,
      /keeper holds no share \(restarted\?\); re-seeding it.*"keeper":1/,
    );

    // Proof: Nexus recovers with the re-seeded keeper and only one other.
    await stack.killNexus();
    await stack.killKeeper(1);
    const recoveredMark = drill.logMark('nexus');
    await drill.startNexus();
    await drill.waitReady();
    await drill.logMatching('nexus', recoveredMark, /"source":"keepers"/);
    assert.deepEqual((await drill.snapshot()).secrets, expected);

    // Back to full strength.
    await stack.startKeeper(1);
    await drill.waitKeeperHolds(1, share(2).shard);
  });

  it('drill 4a: a foreign or corrupted share in a keeper is never used; Nexus names the suspect keeper', async () => {
    const { stack } = drill;
    const before = await drill.snapshot();
    const foreignKey = generateRootKey();
    const foreign = splitRootKey(foreignKey, 2, 3);
    const corrupted = Uint8Array.from(share(1).shard);
    corrupted[31] = (corrupted[31] ?? 0) ^ 0x01;

    // An operator runs bootstrap --force against ONE keeper of the live system: Nexus refuses the
    // proof (it holds the real key), notices the keeper's wrong share within a heartbeat, names it
    // and re-seeds it. Nothing is lost.
    const forcedMark = drill.logMark('nexus');
    const forced = await drill.bootstrap(['-init', '--force'], {
      SPIKE_NEXUS_KEEPER_PEERS: stack.keeperUrl(1),
      SPIKE_NEXUS_SHAMIR_SHARES: '1',
      SPIKE_NEXUS_SHAMIR_THRESHOLD: '1',
    });
    assert.equal(forced.code, 5, forced.stderr);
    assert.match(forced.stderr, /holds a different root key/);
    await drill.waitKeeperHolds(1, share(2).shard);
    await drill.logMatching('nexus', forcedMark, /suspect keeper[^\n]*"keeper":2/);
    assert.equal(await stack.nexusState(), 'ready');
    await assertSnapshot(before);

    // One wrong share among three: recovered from the two consistent ones, suspect named, re-seeded.
    for (const [index, wrong] of [
      [2, foreign[2]?.value],
      [0, corrupted],
    ] as const) {
      assert.ok(wrong !== undefined);
      await stack.killNexus();
      await drill.contribute(index, wrong);
      const mark = drill.logMark('nexus');
      await drill.startNexus();
      await drill.waitReady();
      await assertSnapshot(before);
      const log = await drill.logMatching(
        'nexus',
        mark,
        new RegExp(`suspect keeper[^\\n]*"keeper":${String(index + 1)}`),
      );
      assert.ok(log.includes(stack.keeperUrl(index)), 'the log names the suspect keeper URL');
      await drill.waitKeeperHolds(index, share(index + 1).shard);
    }

    // Two keepers hold shares of one foreign key: a consistent but wrong key. Never served.
    await stack.killNexus();
    await drill.contribute(1, foreign[1]?.value ?? new Uint8Array(32));
    await drill.contribute(2, foreign[2]?.value ?? new Uint8Array(32));
    const mark = drill.logMark('nexus');
    await drill.startNexus();
    await waitFor('Nexus to reject the keepers’ key', 20_000, () =>
      drill
        .logSince('nexus', mark)
        .includes("no combination of the keepers' shares reconstructs this store's root key"),
    );
    assert.equal(await stack.nexusState(), 'not-ready');
    const get = await stack.runSpike('pilot', ['secret', 'get', 'tenants/demo/db/creds']);
    assert.equal(get.code, 5, get.stderr);
    assert.doesNotMatch(get.stdout, /SPIKE_Rocks/);

    // Runbook: restore from two recovery files; Nexus then re-seeds the keepers.
    assert.equal((await restore(files.get(1) ?? '')).code, 0);
    const done = await restore(files.get(3) ?? '');
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /SPIKE is now restored and ready to use/);
    await drill.waitReady();
    await assertSnapshot(before);
    await drill.waitKeeperHolds(1, share(2).shard);
    await drill.waitKeeperHolds(2, share(3).shard);
    foreignKey.fill(0);
  });

  it('drill 3 + 4b: Nexus and every keeper lost; restored from two recovery files (corrupted ones rejected)', async () => {
    const { stack } = drill;
    const before = await drill.snapshot();
    assert.ok(before.policies.length >= DEMO_POLICIES.length);

    await stack.killNexus();
    await Promise.all([0, 1, 2].map((i) => stack.killKeeper(i)));
    await stack.startKeepers();
    await drill.startNexus();

    // Not ready: health listener, CLI exit code, and the API itself.
    assert.equal(await stack.nexusState(), 'not-ready');
    const get = await stack.runSpike('pilot', ['secret', 'get', 'tenants/demo/db/creds']);
    assert.equal(get.code, 5, get.stderr);
    assert.match(get.stderr, /not initialized or not ready/);
    const api = await (
      await drill.mtlsAs('pilot', 'nexus')
    ).request(`${stack.nexusUrl}/v1/store/secrets?action=get`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: 'tenants/demo/db/creds' }),
    });
    assert.equal(api.status, 503);
    assert.equal((JSON.parse(api.body.toString()) as { err: string }).err, 'state_not_ready');
    for (const i of [0, 1, 2]) assert.equal(await drill.keeperShard(i), 'empty');

    // 4b: a damaged file is rejected by the CLI before anything is sent.
    const truncated = await restore((files.get(2) ?? '').slice(0, 40));
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /Invalid recovery share/);
    assert.doesNotMatch(truncated.stderr, /[0-9a-f]{20}/, 'the share is never echoed');

    const first = await restore(files.get(1) ?? '');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /Shards collected: 1, remaining: 1/);

    // 4b: well-formed but wrong shares (one flipped bit; another system's share) are rejected by Nexus.
    const flipped = Uint8Array.from(share(2).shard);
    flipped[0] = (flipped[0] ?? 0) ^ 0x80;
    const foreignKey = generateRootKey();
    const foreign = splitRootKey(foreignKey, 2, 3)[2];
    foreignKey.fill(0);
    assert.ok(foreign !== undefined);
    for (const bad of [
      { id: 2, shard: flipped },
      { id: 3, shard: foreign.value },
    ]) {
      const res = await restore(formatRecoveryText(bad));
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /rejected this recovery share/);
      assert.match(res.stderr, /keeps every share given and is still not ready/);
      assert.ok(!res.stderr.includes(Buffer.from(bad.shard).toString('hex')), 'the share is never echoed');
      assert.equal(await stack.nexusState(), 'not-ready');
    }

    // The right file for index 2 replaces the flipped share and completes the threshold with 1.
    const second = await restore(files.get(2) ?? '');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /SPIKE is now restored and ready to use/);
    await drill.waitReady();

    // Every secret and policy is back, and the keepers were re-seeded ...
    await assertSnapshot(before);
    for (const i of [0, 1, 2]) await drill.waitKeeperHolds(i, share(i + 1).shard);
    // ... which a restart proves: Nexus recovers from them alone.
    await stack.killNexus();
    const mark = drill.logMark('nexus');
    await drill.startNexus();
    await drill.waitReady();
    await drill.logMatching('nexus', mark, /"source":"keepers"/);
    await assertSnapshot(before);
    assert.deepEqual(await drill.recover(), files);
  });

  it('runbook G: an online sqlite3 backup (.backup and VACUUM INTO) restores to exactly its point in time', async () => {
    requireSqlite3();
    const { stack } = drill;
    const db = join(stack.dataDir, 'data', 'spike.db');
    const client = await drill.pilot();
    await client.putSecret('drill/backup/before', { v: 'in the backup' });
    const atBackup = await drill.snapshot();
    const backups = [join(drill.dir, 'backup-dot.db'), join(drill.dir, 'backup-vacuum.db')];
    // Taken while Nexus runs.
    execFileSync('sqlite3', [db, `.backup '${backups[0] ?? ''}'`]);
    execFileSync('sqlite3', [db, `VACUUM INTO '${backups[1] ?? ''}'`]);
    await client.putSecret('drill/backup/after', { v: 'written after the backup' });

    for (const backup of backups) {
      assert.equal(
        execFileSync('sqlite3', [backup, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim(),
        'ok',
      );
      await stack.stopNexus();
      copyFileSync(backup, db);
      rmSync(`${db}-wal`, { force: true });
      rmSync(`${db}-shm`, { force: true });
      const mark = drill.logMark('nexus');
      await drill.startNexus();
      await drill.waitReady();
      await drill.logMatching('nexus', mark, /"source":"keepers"/);
      // Exactly the backup's point in time: the later write is gone, nothing else changed.
      await assertSnapshot(atBackup);
    }
  });
});
