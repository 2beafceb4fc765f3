import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { createPolicyEngine, silentLogger, type PolicyEngine, type PolicyRecord } from '@spike-ts/core';
import type { Permission } from '@spike-ts/protocol';
import { createFeed, type Feed, type Mirror } from './feed.ts';
import { createPolicyMirror, policyBody, policySnapshot, type PolicyBody } from './policy-feed.ts';

const TD = 'spiffe://spike.ist';
const policy = (
  name: string,
  spiffeIdPattern: string,
  pathPattern: string,
  permissions: Permission[],
): PolicyRecord => ({ name, spiffeIdPattern, pathPattern, permissions, createdTime: 1, updatedTime: 1 });

interface Pair {
  readonly main: PolicyEngine;
  readonly feed: Feed<PolicyBody>;
  readonly counters: Int32Array;
  mirror(): { engine: PolicyEngine; mirror: Mirror };
  close(): void;
}

/** A main engine whose changes go to a feed, and mirrors subscribed to it over real ports. */
function pair(start = 0): Pair {
  const counters = new Int32Array(new SharedArrayBuffer(8));
  counters[1] = start;
  const feed = createFeed<PolicyBody>(counters, 1);
  const main = createPolicyEngine({ onChange: (change) => feed.publish(policyBody(change)) });
  const mirrors: Mirror[] = [];
  return {
    main,
    feed,
    counters,
    mirror() {
      const { port1, port2 } = new MessageChannel();
      feed.subscribe(port1, policySnapshot(main.all()));
      const engine = createPolicyEngine();
      const mirror = createPolicyMirror({ engine, port: port2, counters, index: 1, logger: silentLogger });
      mirrors.push(mirror);
      port1.unref();
      return { engine, mirror };
    },
    close() {
      for (const m of mirrors) m.close();
    },
  };
}

const PEERS = [`${TD}/workload/a`, `${TD}/workload/b`, `${TD}/spike/pilot/role/superuser`];
const PATHS = ['a/x', 'b/y', 'teams/t1/k', 'spike/system/acl', 'other'];
const WANTS: Permission[][] = [['read'], ['write'], ['list'], []];

function sameDecisions(main: PolicyEngine, mirror: PolicyEngine, context: string): void {
  for (const peer of PEERS) {
    for (const path of PATHS) {
      for (const wanted of WANTS) {
        assert.deepEqual(
          mirror.check(peer, path, wanted),
          main.check(peer, path, wanted),
          `${context}: ${peer} ${path} ${wanted.join(',')}`,
        );
      }
    }
  }
}

describe('policy feed and mirror (API threads)', () => {
  it('a change is in force on the mirror at once, without waiting for the event loop', () => {
    const p = pair();
    p.main.upsert(policy('a', `^${TD}/workload/a$`, '^a/.*$', ['read']));
    const { engine, mirror } = p.mirror();
    try {
      // No await anywhere below: the ports' message events cannot run, so only the counter and
      // the synchronous take make the mirror follow.
      assert.equal(mirror.current(), true);
      assert.equal(engine.check(`${TD}/workload/a`, 'a/x', ['read']).allowed, true, 'from the snapshot');
      p.main.upsert(policy('b', `^${TD}/workload/b$`, '^b/.*$', ['write']));
      assert.equal(engine.check(`${TD}/workload/b`, 'b/y', ['write']).allowed, false, 'not taken yet');
      assert.equal(mirror.current(), true);
      assert.equal(engine.check(`${TD}/workload/b`, 'b/y', ['write']).allowed, true);
      p.main.remove('a');
      assert.equal(mirror.current(), true);
      assert.equal(engine.check(`${TD}/workload/a`, 'a/x', ['read']).allowed, false);
      p.main.load([policy('c', '.*', '^other$', ['list'])]);
      assert.equal(mirror.current(), true);
      sameDecisions(p.main, engine, 'after load');
      assert.equal(engine.size, 1);
    } finally {
      p.close();
    }
  });

  it('a mirror started later evaluates in the same order, so it names the same policy', () => {
    const p = pair();
    try {
      p.main.upsert(policy('first', `^${TD}/workload/a$`, '^a/.*$', ['read']));
      p.main.upsert(policy('third', `^${TD}/workload/a$`, '^a/.*$', ['read']));
      p.main.upsert(policy('second', '.*', '^a/.*$', ['read']));
      // Replacing the members of a group one by one keeps the group (and its place in the
      // evaluation order, before 'second'), although both now come after 'second' by age.
      p.main.upsert(policy('first', `^${TD}/workload/a$`, '^a/.*$', ['read', 'list']));
      p.main.upsert(policy('third', `^${TD}/workload/a$`, '^a/.*$', ['read', 'list']));
      assert.equal(p.main.check(`${TD}/workload/a`, 'a/x', ['read']).policy, 'first');
      const { engine, mirror } = p.mirror();
      assert.equal(mirror.current(), true);
      assert.equal(engine.check(`${TD}/workload/a`, 'a/x', ['read']).policy, 'first');
    } finally {
      p.close();
    }
  });

  it('gives the same decisions, naming the same policy, through any sequence of changes (property)', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // Starts near the Int32 limit: sequence numbers wrap during the run.
    const p = pair(0x7fffffff - 20);
    const early = p.mirror();
    const idPatterns = [`^${TD}/workload/a$`, `^${TD}/workload/(a|b)$`, `${TD}/workload/`, '.*'];
    const pathPatterns = ['^a/.*$', '^teams/t1/.*$', 'b', '^spike/system/acl$', '.*'];
    const permissions: Permission[][] = [['read'], ['write'], ['read', 'list'], ['super']];
    let late: ReturnType<Pair['mirror']> | undefined;
    try {
      for (let step = 0; step < 300; step++) {
        const name = `p${String(random(12))}`;
        const roll = random(10);
        if (roll < 6) {
          try {
            p.main.upsert(
              policy(
                name,
                idPatterns[random(idPatterns.length)] as string,
                pathPatterns[random(pathPatterns.length)] as string,
                permissions[random(permissions.length)] as Permission[],
              ),
            );
          } catch {
            // Rejected by the reserved-path rule: nothing changed, nothing is posted.
          }
        } else if (roll < 9) {
          p.main.remove(name);
        } else {
          p.main.load(p.main.all().filter(() => random(2) === 0));
        }
        if (step === 150) late = p.mirror();
        assert.equal(early.mirror.current(), true);
        sameDecisions(p.main, early.engine, `step ${String(step)}`);
        if (late !== undefined) {
          assert.equal(late.mirror.current(), true);
          sameDecisions(p.main, late.engine, `late mirror, step ${String(step)}`);
        }
      }
      assert.ok(p.counters[1]! < 0, 'the sequence number wrapped');
    } finally {
      p.close();
    }
  });

  it('refuses to vouch for its policies before the snapshot and after a lost change', () => {
    const counters = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    const engine = createPolicyEngine();
    const mirror = createPolicyMirror({ engine, port: port2, counters, index: 1, logger: silentLogger });
    try {
      assert.equal(mirror.current(), false, 'no snapshot yet');
      port1.postMessage({ seq: 0, body: { kind: 'load', policies: [] } });
      assert.equal(mirror.current(), true);
      // Change 2 without change 1: the mirror can no longer match the main engine.
      port1.postMessage({
        seq: 2,
        body: {
          kind: 'upsert',
          policy: {
            record: policy('x', '.*', '.*', ['super']),
            reservedReached: [],
            reservedGranted: [],
          },
        },
      });
      counters[1] = 2;
      assert.equal(mirror.current(), false);
      assert.equal(engine.size, 0, 'the out-of-order change was not applied');
      port1.postMessage({ seq: 3, body: { kind: 'load', policies: [] } });
      counters[1] = 3;
      assert.equal(mirror.current(), false, 'stays refused: only a restart of the thread recovers');
    } finally {
      mirror.close();
    }
  });

  it('an idle mirror also applies changes as their messages arrive', async () => {
    const p = pair();
    const { engine } = p.mirror();
    try {
      p.main.upsert(policy('a', `^${TD}/workload/a$`, '^a/.*$', ['read']));
      // Nothing asks the mirror to catch up: only the message's arrival can apply the change.
      // Wait for it without a fixed delay (a loaded machine may take longer than any guess).
      const allowed = () => engine.check(`${TD}/workload/a`, 'a/x', ['read']).allowed;
      for (let turn = 0; turn < 2000 && !allowed(); turn++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(allowed(), true);
    } finally {
      p.close();
    }
  });
});
