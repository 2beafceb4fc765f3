/**
 * Replica drills on PostgreSQL, with real processes: a private PostgreSQL cluster, three keepers,
 * the bootstrap and three `spike-nexus` replicas on one database (dev identities, real mTLS),
 * under a mixed load from three client processes, each naming every replica
 * (comma-separated `SPIKE_NEXUS_API_URL`, a different replica first).
 *
 * - kill -9 one replica mid-load: no acknowledged write is lost, the others keep answering, and
 *   the restarted replica gets the root key from the keepers by itself and serves the latest data
 *   and policies (a policy applied on another replica while it was down grants on it, one deleted
 *   on another replica after it is back no longer does);
 * - stop PostgreSQL under load: every replica answers 503 `state_not_ready` meanwhile (never a
 *   500, never a crash), reconnects by itself when the database is back, and no acknowledged
 *   write is lost.
 *
 * No timing is asserted: the drills wait for counts of acknowledged writes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isSpikeError, type SpikeClient } from '@spike-ts/sdk';
import { waitFor } from './drill-kit.ts';
import { missingWrites, ReplicaSet, type MixedLoad } from './replica-kit.ts';

/** Acknowledged writes each load client must add at every step of a drill. */
const STEP = 30;

/** Waits until every load client has `STEP` more acknowledged writes than now. */
async function progress(loads: MixedLoad[]): Promise<void> {
  const now = loads.map((l) => l.acks());
  await Promise.all(loads.map((l, k) => l.waitAcks((now[k] ?? 0) + STEP)));
}

/** The SDK error code (with the HTTP status) a call failed with, or 'ok'. */
async function outcomeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    return isSpikeError(err) ? `${String(err.status)} ${err.code}` : `thrown ${String(err)}`;
  }
}

/** Lets the demo workload read the drills' markers. */
const MARKER_GRANT = {
  name: 'drill-markers',
  spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$',
  pathPattern: '^marker/.*$',
  permissions: ['read'] as const,
};

/** A stack trace in a log (a JSON log line holds none; a crash or an unhandled error would). */
const STACK_TRACE = /\n\s+at \S.*\(.*:\d+:\d+\)/;

describe('three Nexus replicas on PostgreSQL (real processes)', { timeout: 600_000 }, () => {
  let set: ReplicaSet;

  before(async () => {
    set = await ReplicaSet.start(3);
  });
  after(async () => {
    await set?.close();
  });

  it('kill -9 one replica mid-load: nothing acknowledged is lost, the others answer, the restarted one recovers and serves the latest data', async () => {
    const loads = [0, 1, 2].map((i) => set.startLoad(`kill-${String(i)}`, i));
    await progress(loads);

    const victim = 1;
    const mark = set.log(victim).length;
    await set.kill(victim);
    assert.equal(await set.state(victim), 'down');

    // The others keep answering: every client (also the one that named the victim first) goes on.
    await progress(loads);
    const marker = { value: randomBytes(8).toString('hex') };
    for (const i of [0, 2]) {
      const client = await set.pilotOn(i);
      await client.putSecret(`marker/while-down/${String(i)}`, marker);
    }
    // A policy change made while it is down (on replica 0) is in force on it once it is back.
    await (await set.pilotOn(0)).putPolicy(MARKER_GRANT);

    // Restarted, it gets the root key from the keepers on its own (nobody runs bootstrap again).
    await set.restart(victim);
    await set.waitReady(victim);
    await waitFor('the restarted replica to log how it got the root key', 10_000, () =>
      /root key installed; Nexus is ready.*"source":"keepers"/.test(set.log(victim).slice(mark)),
    );
    const restarted = await set.pilotOn(victim);
    for (const i of [0, 2]) {
      assert.deepEqual(await restarted.getSecret(`marker/while-down/${String(i)}`), marker);
    }
    const demo = await set.clientOn('demo', victim);
    assert.deepEqual(await demo.getSecret('marker/while-down/0'), marker);
    // ... and one removed on another replica is out of force on it at the next request.
    await (await set.pilotOn(2)).deletePolicy(MARKER_GRANT.name);
    assert.equal(await outcomeOf(demo.getSecret('marker/while-down/0')), '401 access_unauthorized');
    // It takes writes again, and the others see them at once.
    await progress(loads);
    await restarted.putSecret('marker/after-restart', marker);
    assert.deepEqual(await (await set.pilotOn(0)).getSecret('marker/after-restart'), marker);

    await Promise.all(loads.map((l) => l.stop()));
    const readers: SpikeClient[] = [restarted, await set.pilotOn(2)];
    for (const load of loads) {
      const seen = load.outcome();
      assert.deepEqual(seen.stale, [], 'a read after an acknowledgement returned something else');
      assert.ok(seen.fresh.size >= STEP, `too few writes: ${String(seen.fresh.size)}`);
      // Killing a replica may fail the requests it held (no answer), never with a server error.
      assert.deepEqual(
        seen.errors.filter((e) => !e.startsWith('0 ')),
        [],
        'only requests in flight on the killed replica may fail',
      );
      for (const reader of readers) assert.deepEqual(await missingWrites(reader, seen), []);
    }
    for (let i = 0; i < set.size; i++) assert.ok(set.running(i), `replica ${String(i)} is not running`);
  });

  it('PostgreSQL stops under load: 503 state_not_ready meanwhile, never an internal error or a crash; reconnects; nothing acknowledged is lost', async () => {
    const loads = [0, 1, 2].map((i) => set.startLoad(`pg-${String(i)}`, i));
    await progress(loads);
    const marks = [0, 1, 2].map((i) => set.log(i).length);

    // Fast shutdown of the server (sessions are ended), as in a database restart or failover.
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

    // Every replica stays up and answers reads and writes with 503 state_not_ready.
    for (let i = 0; i < set.size; i++) {
      const client = await set.pilotOn(i);
      assert.equal(await outcomeOf(client.getSecret('marker/while-down/0')), '503 state_not_ready');
      assert.equal(
        await outcomeOf(client.putSecret(`marker/db-down/${String(i)}`, { value: 'x' })),
        '503 state_not_ready',
      );
      assert.equal(await outcomeOf(client.listSecrets()), '503 state_not_ready');
      assert.ok(set.running(i), `replica ${String(i)} crashed while the database was down`);
    }
    // The load clients meet the outage too (they keep trying).
    const before = loads.map((l) => l.outcome().errors.length);
    await waitFor('the load clients to meet the outage', 30_000, () =>
      loads.every((l, k) => l.outcome().errors.length > (before[k] ?? 0)),
    );

    // The database comes back: the replicas reconnect by themselves and the load goes on.
    await set.cluster.restart();
    await progress(loads);
    await Promise.all(loads.map((l) => l.stop()));

    for (const load of loads) {
      const seen = load.outcome();
      assert.deepEqual(seen.stale, []);
      // A write whose COMMIT was sent just before the server stopped may not learn its outcome:
      // 500 api_outcome_unknown (the load counts such a write as possibly landed, never as lost).
      const unexpected = seen.errors.filter(
        (e) => e !== '503 state_not_ready' && e !== '500 api_outcome_unknown',
      );
      assert.deepEqual(
        unexpected,
        [],
        'while the database was down only 503 state_not_ready (or an unknown outcome) is expected',
      );
      for (let i = 0; i < set.size; i++) {
        assert.deepEqual(await missingWrites(await set.pilotOn(i), seen), [], `replica ${String(i)}`);
      }
    }
    for (let i = 0; i < set.size; i++) {
      assert.ok(set.running(i), `replica ${String(i)} is not running`);
      assert.equal(await set.state(i), 'ready');
      assert.doesNotMatch(set.log(i).slice(marks[i]), STACK_TRACE);
      // The writes refused while the database was down did not happen.
      assert.equal(
        await outcomeOf((await set.pilotOn(i)).getSecret(`marker/db-down/${String(i)}`)),
        '404 api_not_found',
      );
    }
  });
});
