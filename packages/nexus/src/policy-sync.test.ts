import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicyEngine, silentLogger, type PolicyRecord, type SharedPolicies } from '@spike-ts/core';
import { coalesce, createPolicySync } from './policy-sync.ts';

/** A promise with its resolve and reject exposed. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setImmediate(r));

function policy(name: string, path: string): PolicyRecord {
  return {
    name,
    spiffeIdPattern: '^spiffe://example\\.org/app$',
    pathPattern: path,
    permissions: ['read'],
    createdTime: 1,
    updatedTime: 1,
  };
}

/** A shared store stand-in: the test sets what the "database" holds and counts the reads. */
function fakeShared(initial: PolicyRecord[]) {
  const db = { revision: 0, policies: initial };
  const counts = { revisionReads: 0, scans: 0 };
  let hint: (() => void) | undefined;
  const shared: SharedPolicies = {
    revision: () => {
      counts.revisionReads += 1;
      return Promise.resolve(String(db.revision));
    },
    scan: () => {
      counts.scans += 1;
      return Promise.resolve({
        revision: String(db.revision),
        scan: { policies: [...db.policies], damaged: [] },
      });
    },
    watch: (onHint) => {
      hint = onHint;
      return () => (hint = undefined);
    },
  };
  return { db, counts, shared, notify: () => hint?.() };
}

describe('coalesce', () => {
  it('gives each caller a run that started after its call, sharing runs among waiting callers', async () => {
    const runs: ReturnType<typeof deferred<number>>[] = [];
    const op = coalesce(() => {
      const d = deferred<number>();
      runs.push(d);
      return d.promise;
    });
    const first = op();
    assert.equal(runs.length, 1);
    // Two callers arrive while the first run is in flight: they share the next run.
    const second = op();
    const third = op();
    assert.equal(runs.length, 1);
    runs[0]?.resolve(1);
    assert.equal(await first, 1);
    await tick();
    assert.equal(runs.length, 2);
    runs[1]?.resolve(2);
    assert.equal(await second, 2);
    assert.equal(await third, 2);
  });

  it('a failed run fails its callers only; the next caller starts a new run', async () => {
    let n = 0;
    const op = coalesce(() => (++n === 1 ? Promise.reject(new Error('down')) : Promise.resolve(n)));
    await assert.rejects(op(), /down/);
    assert.equal(await op(), 2);
  });
});

describe('policy sync on a shared store', () => {
  it('reloads before authorizing when the revision moved, even without a notification', async () => {
    const { db, counts, shared } = fakeShared([policy('a', '^one$')]);
    const engine = createPolicyEngine();
    const sync = createPolicySync({ shared, engine, logger: silentLogger });
    await sync.load();
    const app = 'spiffe://example.org/app';
    assert.equal(engine.check(app, 'one', ['read']).allowed, true);
    await sync.fresh();
    assert.equal(counts.scans, 1, 'same revision: no reload');
    // Another replica changes the policy (no notification arrives).
    db.policies = [policy('a', '^two$')];
    db.revision = 1;
    await sync.fresh();
    assert.equal(counts.scans, 2);
    assert.equal(engine.check(app, 'one', ['read']).allowed, false);
    assert.equal(engine.check(app, 'two', ['read']).allowed, true);
    // Removed elsewhere: removed here.
    db.policies = [];
    db.revision = 2;
    await sync.fresh();
    assert.equal(engine.check(app, 'two', ['read']).allowed, false);
    sync.close();
  });

  it('a revision that went backwards (database restored) reloads too', async () => {
    const { db, shared } = fakeShared([policy('a', '^one$')]);
    db.revision = 7;
    const engine = createPolicyEngine();
    const sync = createPolicySync({ shared, engine, logger: silentLogger });
    await sync.load();
    db.revision = 3;
    db.policies = [policy('b', '^old$')];
    await sync.fresh();
    assert.deepEqual(
      engine.all().map((p) => p.name),
      ['b'],
    );
  });

  it('a notification reloads off the request path; unchanged policies keep their compiled form', async () => {
    const kept = policy('kept', '^k$');
    const { db, counts, shared, notify } = fakeShared([kept, policy('a', '^one$')]);
    const engine = createPolicyEngine();
    const sync = createPolicySync({ shared, engine, logger: silentLogger });
    await sync.load();
    const before = engine.all().find((p) => p.name === 'kept');
    db.policies = [kept, policy('a', '^two$')];
    db.revision = 1;
    notify();
    for (let i = 0; i < 20 && counts.scans < 2; i++) await tick();
    assert.equal(counts.scans, 2);
    assert.equal(
      engine.all().find((p) => p.name === 'kept'),
      before,
    );
    // The next request finds the engine current: one revision read, no reload.
    await sync.fresh();
    assert.equal(counts.scans, 2);
  });

  it('concurrent requests share one revision read', async () => {
    const { counts, shared } = fakeShared([]);
    const gate = deferred<string>();
    let calls = 0;
    const slow: SharedPolicies = {
      ...shared,
      revision: () => (++calls === 1 ? gate.promise : shared.revision()),
    };
    const sync = createPolicySync({ shared: slow, engine: createPolicyEngine(), logger: silentLogger });
    await sync.load();
    const first = sync.fresh();
    const waiting = Array.from({ length: 50 }, () => sync.fresh());
    gate.resolve('0');
    await Promise.all([first, ...waiting]);
    assert.equal(calls, 2, 'the first read, then one shared by the 50 that arrived during it');
    assert.equal(counts.scans, 1);
  });

  it('a failing revision read fails the request (never served from the cache)', async () => {
    const { shared } = fakeShared([]);
    const down: SharedPolicies = { ...shared, revision: () => Promise.reject(new Error('database down')) };
    const sync = createPolicySync({ shared: down, engine: createPolicyEngine(), logger: silentLogger });
    await sync.load();
    await assert.rejects(sync.fresh(), /database down/);
  });
});
