import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_TRUST_ROOTS,
  SPIKE_ROLES,
  TrustRootConfigError,
  hasRole,
  isBootstrap,
  isKeeper,
  isLiteWorkload,
  isNexus,
  isPilotRecover,
  isPilotRestore,
  isPilotSuperuser,
  isSpikeCompatibleId,
  roleSpiffeId,
  spikeRoleOf,
  trustRootsFromEnv,
} from './roles.ts';
import type { SpikeRole } from './roles.ts';
import { parseSpiffeId, parseTrustDomain } from './spiffe-id.ts';

const predicates: Record<SpikeRole, (id: string, r: typeof DEFAULT_TRUST_ROOTS) => boolean> = {
  nexus: isNexus,
  keeper: isKeeper,
  bootstrap: isBootstrap,
  'pilot/role/superuser': isPilotSuperuser,
  'pilot/role/recover': isPilotRecover,
  'pilot/role/restore': isPilotRestore,
  'workload/role/lite': isLiteWorkload,
};

describe('trustRootsFromEnv', () => {
  it('defaults every role to spike.ist', () => {
    for (const env of [{}, { SPIKE_TRUST_ROOT_NEXUS: '' }, { SPIKE_TRUST_ROOT_NEXUS: '   ' }]) {
      const roots = trustRootsFromEnv(env);
      assert.deepEqual(roots, {
        nexus: ['spike.ist'],
        keeper: ['spike.ist'],
        pilot: ['spike.ist'],
        bootstrap: ['spike.ist'],
        liteWorkload: ['spike.ist'],
      });
    }
  });

  it('reads per-role comma lists, trimming whitespace', () => {
    const roots = trustRootsFromEnv({
      SPIKE_TRUST_ROOT_NEXUS: ' a.test , b.test',
      SPIKE_TRUST_ROOT_KEEPER: 'k.test',
      SPIKE_TRUST_ROOT_PILOT: 'p.test,spiffe://q.test',
      SPIKE_TRUST_ROOT_BOOTSTRAP: 'boot.test',
      SPIKE_TRUST_ROOT_LITE_WORKLOAD: 'lite.test',
      SPIKE_TRUST_ROOT: 'ignored.test',
    });
    assert.deepEqual(roots.nexus, ['a.test', 'b.test']);
    assert.deepEqual(roots.keeper, ['k.test']);
    assert.deepEqual(roots.pilot, ['p.test', 'q.test']);
    assert.deepEqual(roots.bootstrap, ['boot.test']);
    assert.deepEqual(roots.liteWorkload, ['lite.test']);
    assert.ok(Object.isFrozen(roots) && Object.isFrozen(roots.nexus));
  });

  it('rejects empty items and invalid trust domains, naming the variable', () => {
    const bad: [string, string, RegExp][] = [
      ['SPIKE_TRUST_ROOT_NEXUS', 'a.test,,b.test', /empty item/],
      ['SPIKE_TRUST_ROOT_KEEPER', 'a.test,', /empty item/],
      ['SPIKE_TRUST_ROOT_PILOT', 'Spike.ist', /invalid trust domain in item 1/],
      ['SPIKE_TRUST_ROOT_BOOTSTRAP', 'spike.ist/x', /invalid trust domain/],
      ['SPIKE_TRUST_ROOT_LITE_WORKLOAD', 'spiffe://spike.ist/spike', /invalid trust domain/],
    ];
    for (const [variable, value, pattern] of bad) {
      assert.throws(
        () => trustRootsFromEnv({ [variable]: value }),
        (err: unknown) =>
          err instanceof TrustRootConfigError &&
          err.variable === variable &&
          err.message.startsWith(variable + ':') &&
          pattern.test(err.message),
        variable,
      );
    }
  });
});

describe('trust roots from the settings table agree with parseTrustDomain', () => {
  it('accept and refuse the same items', () => {
    const corpus = [
      'spike.ist',
      'a_b-c.d9',
      'spiffe://q.test',
      'Spike.ist',
      'spike.ist/x',
      'spiffe://spike.ist/spike',
      'SPIFFE://x.test',
      'spiffe://',
      'x'.repeat(255),
      'x'.repeat(256),
      'a b',
      'ü.test',
      'http://x.test',
    ];
    for (const item of corpus) {
      let direct = true;
      try {
        parseTrustDomain(item);
      } catch {
        direct = false;
      }
      let viaEnv = true;
      try {
        trustRootsFromEnv({ SPIKE_TRUST_ROOT_NEXUS: item });
      } catch {
        viaEnv = false;
      }
      assert.equal(viaEnv, direct, item);
    }
  });
});

describe('role predicates', () => {
  it('match the exact role ID and IDs below it, nothing else', () => {
    for (const role of SPIKE_ROLES) {
      const pred = predicates[role];
      const base = roleSpiffeId(role, 'spike.ist');
      assert.equal(base, `spiffe://spike.ist/spike/${role}`);
      assert.equal(pred(base, DEFAULT_TRUST_ROOTS), true, base);
      assert.equal(pred(parseSpiffeId(base + '/pod-1').toString(), DEFAULT_TRUST_ROOTS), true);
      assert.equal(hasRole(parseSpiffeId(base), role, DEFAULT_TRUST_ROOTS), true);
      for (const miss of [
        base + '-evil',
        base + 'x',
        base.slice(0, -1),
        base + '/',
        'spiffe://other.test/spike/' + role,
        base.toUpperCase(),
      ]) {
        assert.equal(pred(miss, DEFAULT_TRUST_ROOTS), false, miss);
      }
      // No other role's predicate accepts this role's ID.
      for (const other of SPIKE_ROLES) {
        if (other !== role)
          assert.equal(predicates[other](base, DEFAULT_TRUST_ROOTS), false, `${other} vs ${base}`);
      }
    }
  });

  it('rejects /spike/nexus-evil and friends', () => {
    assert.equal(isNexus('spiffe://spike.ist/spike/nexus-evil', DEFAULT_TRUST_ROOTS), false);
    assert.equal(isNexus('spiffe://spike.ist/spike/nexusx/a', DEFAULT_TRUST_ROOTS), false);
    assert.equal(isNexus('spiffe://spike.ist.evil/spike/nexus', DEFAULT_TRUST_ROOTS), false);
    assert.equal(isNexus('spiffe://evilspike.ist/spike/nexus', DEFAULT_TRUST_ROOTS), false);
    assert.equal(
      isPilotSuperuser('spiffe://spike.ist/spike/pilot/role/superuser-x', DEFAULT_TRUST_ROOTS),
      false,
    );
    assert.equal(
      isPilotSuperuser('spiffe://spike.ist/spike/pilot/role/superuser/alice', DEFAULT_TRUST_ROOTS),
      true,
    );
  });

  it('use the trust roots of each role family', () => {
    const roots = trustRootsFromEnv({
      SPIKE_TRUST_ROOT_NEXUS: 'a.test,b.test',
      SPIKE_TRUST_ROOT_PILOT: 'ops.test',
    });
    assert.equal(isNexus('spiffe://a.test/spike/nexus', roots), true);
    assert.equal(isNexus('spiffe://b.test/spike/nexus/x', roots), true);
    assert.equal(isNexus('spiffe://spike.ist/spike/nexus', roots), false);
    assert.equal(isKeeper('spiffe://spike.ist/spike/keeper', roots), true);
    assert.equal(isKeeper('spiffe://a.test/spike/keeper', roots), false);
    assert.equal(isPilotSuperuser('spiffe://ops.test/spike/pilot/role/superuser', roots), true);
    assert.equal(isPilotRecover('spiffe://ops.test/spike/pilot/role/recover', roots), true);
    assert.equal(isPilotRestore('spiffe://ops.test/spike/pilot/role/restore', roots), true);
    assert.equal(isPilotRestore('spiffe://spike.ist/spike/pilot/role/restore', roots), false);
  });

  it('spikeRoleOf names the one role an ID holds, or none', () => {
    for (const role of SPIKE_ROLES) {
      const base = roleSpiffeId(role, 'spike.ist');
      assert.equal(spikeRoleOf(base, DEFAULT_TRUST_ROOTS), role, base);
      assert.equal(spikeRoleOf(parseSpiffeId(base + '/pod-1'), DEFAULT_TRUST_ROOTS), role);
      assert.equal(spikeRoleOf(base + '-evil', DEFAULT_TRUST_ROOTS), undefined);
      assert.equal(spikeRoleOf('spiffe://other.test/spike/' + role, DEFAULT_TRUST_ROOTS), undefined);
    }
    assert.equal(spikeRoleOf('spiffe://spike.ist/workload/app', DEFAULT_TRUST_ROOTS), undefined);
    const roots = trustRootsFromEnv({ SPIKE_TRUST_ROOT_PILOT: 'ops.test' });
    assert.equal(spikeRoleOf('spiffe://ops.test/spike/pilot/role/recover', roots), 'pilot/role/recover');
    assert.equal(spikeRoleOf('spiffe://spike.ist/spike/pilot/role/recover', roots), undefined);
  });

  it('roleSpiffeId validates its input', () => {
    assert.throws(() => roleSpiffeId('nexus', 'Spike.ist'));
    assert.throws(() => roleSpiffeId('nexus', 'a,b'));
    assert.throws(() => roleSpiffeId('admin' as SpikeRole, 'spike.ist'), /unknown SPIKE role/);
  });
});

describe('isSpikeCompatibleId', () => {
  const spikeRegex = /^spiffe:\/\/[a-zA-Z0-9.-]+(\/[a-zA-Z0-9._-]+)*$/;

  it('matches the vectors', () => {
    for (const ok of [
      'spiffe://spike.ist',
      'spiffe://spike.ist/spike/nexus',
      'spiffe://A-b.c/x_y/./..',
      'spiffe://1.2.3.4/a',
    ]) {
      assert.equal(isSpikeCompatibleId(ok), true, ok);
    }
    for (const bad of [
      'spiffe://',
      'spiffe:///a',
      'spiffe://a_b/c',
      'spiffe://a/',
      'spiffe://a//b',
      'spiffe://a/b c',
      'spiffe://a/b\n',
      'SPIFFE://a',
      'spiffe://a:1/b',
      '',
    ]) {
      assert.equal(isSpikeCompatibleId(bad), false, JSON.stringify(bad));
    }
  });

  it('agrees with the SPIKE regular expression (property)', () => {
    const unit = fc.constantFrom(...'aZ09.-_/:@ %\n'.split(''));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 24 }), fc.boolean(), (tail, withPrefix) => {
        const s = (withPrefix ? 'spiffe://' : '') + tail;
        assert.equal(isSpikeCompatibleId(s), spikeRegex.test(s), JSON.stringify(s));
      }),
      { numRuns: 2000 },
    );
  });
});
