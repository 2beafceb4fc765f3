/**
 * Online root-key rotation on PostgreSQL with two Nexus replicas under a mixed load (ADR 0044):
 * the replica that began the rotation is killed (`kill -9`) mid-re-sealing; the other one learns
 * of the unfinished rotation from the database, finishes it and pushes the new key's shares; the
 * killed one comes back from the keepers with the new key. Nothing acknowledged is lost, no read
 * is stale, no request fails with a server error. Then a replica sleeps (`SIGSTOP`) through a
 * whole rotation: woken, it learns that its key was retired, drops it and recovers the new key
 * from the keepers by itself, without a restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RootKeyStatus } from '@spike-ts/sdk';
import { waitFor } from './drill-kit.ts';
import { missingWrites, ReplicaSet, type MixedLoad } from './replica-kit.ts';

const STEP = 20;
/** Enough rows that re-sealing one per transaction takes seconds, so it can be interrupted. */
const SECRETS = 2500;

async function progress(loads: MixedLoad[]): Promise<void> {
  const now = loads.map((l) => l.acks());
  await Promise.all(loads.map((l, k) => l.waitAcks((now[k] ?? 0) + STEP)));
}

describe('root-key rotation on PostgreSQL replicas (real processes)', { timeout: 600_000 }, () => {
  let set: ReplicaSet;

  before(async () => {
    set = await ReplicaSet.start(2, { SPIKE_NEXUS_ROOT_KEY_ROTATION_BATCH_SIZE: '1' });
  });
  after(async () => {
    await set?.close();
  });

  it('the rotating replica is killed mid-way; the other finishes it; nothing is lost', async (t) => {
    const pilot0 = await set.pilotOn(0);
    for (let i = 0; i < SECRETS; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) => pilot0.putSecret(`rot/s${String(i + k)}`, { v: String(i + k) })),
      );
    }
    const oldFiles = await set.drill.recover();
    const loads = [0, 1].map((i) => set.startLoad(`rot-${String(i)}`, i));
    await progress(loads);

    const begun = await (await set.pilotOn(1)).rootKey.rotate();
    assert.deepEqual([begun.from, begun.generation, begun.rotating], [1, 2, true]);
    // Followed through the other replica: the status comes from the database.
    let seen: RootKeyStatus | undefined;
    await waitFor('re-sealing to be under way', 120_000, async () => {
      seen = await pilot0.rootKey.status();
      if (!seen.rotating) {
        // Not begun here yet (this replica follows the database a moment later), or over already.
        assert.equal(seen.generation, 1, 'the rotation finished before it could be interrupted');
        return false;
      }
      return seen.rowsRemaining < seen.rowsTotal - 20;
    });
    await set.kill(1);
    t.diagnostic(
      `replica 1 killed with ${String(seen?.rowsRemaining)} of ${String(seen?.rowsTotal)} rows left`,
    );

    await waitFor('replica 0 to finish the rotation', 180_000, async () => {
      const s = await pilot0.rootKey.status();
      return !s.rotating && s.generation === 2 && s.rowsRemaining === 0;
    });
    await progress(loads);
    await set.restart(1);
    await set.waitReady(1);
    const again = await (await set.pilotOn(1)).rootKey.status();
    assert.deepEqual([again.generation, again.rotating], [2, false]);
    await progress(loads);
    await Promise.all(loads.map((l) => l.stop()));

    for (const i of [0, 1]) {
      for (const line of set
        .log(i)
        .split('\n')
        .filter((l) => /"level":"error"/.test(l))
        .slice(0, 5))
        t.diagnostic(`replica ${String(i)}: ${line.slice(0, 600)}`);
    }
    const readers = [pilot0, await set.pilotOn(1)];
    for (const load of loads) {
      const outcome = load.outcome();
      assert.deepEqual(outcome.stale, [], 'a read after an acknowledgement returned something else');
      assert.deepEqual(
        outcome.errors.filter((e) => !e.startsWith('0 ') && !e.startsWith('503 ')),
        [],
        'only requests in flight on the killed replica may fail',
      );
      for (const reader of readers) assert.deepEqual(await missingWrites(reader, outcome), []);
    }
    for (let i = 0; i < SECRETS; i += 97) {
      for (const reader of readers)
        assert.deepEqual(await reader.getSecret(`rot/s${String(i)}`), { v: String(i) });
    }
    // The keepers hold the new key's shares; the old files are of a retired key.
    const files = await set.drill.recover();
    for (const [id, text] of files) assert.notEqual(text, oldFiles.get(id));
    await set.drill.assertKeepersHold(files);
  });

  it('a replica that slept through a whole rotation recovers the new key from the keepers by itself', async () => {
    const pilot0 = await set.pilotOn(0);
    const before = await pilot0.rootKey.status();
    set.signal(1, 'SIGSTOP');
    let generation = 0;
    let logBefore = 0;
    try {
      const begun = await pilot0.rootKey.rotate();
      generation = begun.generation;
      assert.equal(generation, before.generation + 1);
      await waitFor('replica 0 to finish the rotation', 300_000, async () => {
        const s = await pilot0.rootKey.status();
        return !s.rotating && s.generation === generation && s.rowsRemaining === 0;
      });
      await pilot0.putSecret('rot/after-sleep', { v: 'new' });
    } finally {
      logBefore = set.log(1).length;
      set.signal(1, 'SIGCONT');
    }
    // Woken: its key is retired. It drops it, is not ready meanwhile, and recovers the new one.
    await waitFor('replica 1 to drop its retired key', 60_000, () =>
      /a rotation elsewhere retired/.test(set.log(1)),
    );
    await set.waitReady(1, 120_000);
    assert.ok(set.running(1), 'recovered without a restart');
    const woken = set.log(1).slice(logBefore);
    assert.match(woken, /root key recovered from the keepers after this Nexus dropped its own/);
    // It read the generations before overwriting the keepers' new shares: none got a retired one.
    assert.doesNotMatch(woken, /suspect keeper|re-seeding/);
    const pilot1 = await set.pilotOn(1);
    const status = await pilot1.rootKey.status();
    assert.deepEqual([status.generation, status.rotating], [generation, false]);
    assert.deepEqual(await pilot1.getSecret('rot/after-sleep'), { v: 'new' });
    await pilot1.putSecret('rot/after-sleep', { v: 'from replica 1' });
    assert.deepEqual(await pilot0.getSecret('rot/after-sleep'), { v: 'from replica 1' });
    for (let i = 0; i < SECRETS; i += 211) {
      assert.deepEqual(await pilot1.getSecret(`rot/s${String(i)}`), { v: String(i) });
    }
    // The keepers hold the new key's shares.
    await set.drill.assertKeepersHold(await set.drill.recover());
  });
});
