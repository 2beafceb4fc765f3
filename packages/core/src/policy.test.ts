import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { BadRequestError, type Permission } from '@spike-ts/protocol';
import type { PolicyRecord } from './model.ts';
import {
  checkReservedPathRule,
  compilePolicy,
  createPolicyEngine,
  fromPolicyTransfer,
  InvalidPolicyError,
  toPolicyTransfer,
} from './policy.ts';

function policy(
  name: string,
  spiffeIdPattern: string,
  pathPattern: string,
  permissions: Permission[],
): PolicyRecord {
  return { name, spiffeIdPattern, pathPattern, permissions, createdTime: 0, updatedTime: 0 };
}

const WORKLOAD = 'spiffe://spike.ist/workload/app';
const ADMIN = 'spiffe://example.org/admin';

describe('compilePolicy', () => {
  it('compiles both patterns once and rejects invalid RE2', () => {
    const c = compilePolicy(policy('p', '^spiffe://td/x$', '^a/.*$', ['read']));
    assert.equal(c.name, 'p');
    assert.ok(c.idRegex.test('spiffe://td/x'));
    assert.ok(c.pathRegex.test('a/b'));
    assert.throws(() => compilePolicy(policy('bad', '(', 'a', ['read'])), InvalidPolicyError);
    assert.throws(() => compilePolicy(policy('bad', 'x', '(a)\\1', ['read'])), /pathPattern/);
    assert.throws(() => compilePolicy(policy('bad', 'x', '(?=a)b', ['read'])), BadRequestError);
  });
});

describe('policy engine: SPIKE matching semantics', () => {
  it('allows when one policy matches ID, path and permissions; denies otherwise', () => {
    const engine = createPolicyEngine();
    engine.load([
      policy('workload-can-read', '^spiffe://spike\\.ist/workload/.*$', '^tenants/demo/db/.*$', ['read']),
      policy('workload-can-write', '^spiffe://spike\\.ist/workload/.*$', '^tenants/demo/db/.*$', ['write']),
    ]);
    assert.deepEqual(engine.check(WORKLOAD, 'tenants/demo/db/creds', ['read']), {
      allowed: true,
      policy: 'workload-can-read',
    });
    assert.deepEqual(engine.check(WORKLOAD, 'tenants/demo/db/creds', ['write']), {
      allowed: true,
      policy: 'workload-can-write',
    });
    // no union of permissions across policies
    assert.deepEqual(engine.check(WORKLOAD, 'tenants/demo/db/creds', ['read', 'write']), { allowed: false });
    assert.equal(engine.check(WORKLOAD, 'tenants/demo/db/creds', ['list']).allowed, false);
    assert.equal(engine.check(WORKLOAD, 'tenants/other/db/creds', ['read']).allowed, false);
    assert.equal(
      engine.check('spiffe://spike.ist/other/app', 'tenants/demo/db/creds', ['read']).allowed,
      false,
    );
    // escaped dot: "spikexist" does not match
    assert.equal(
      engine.check('spiffe://spikexist/workload/app', 'tenants/demo/db/x', ['read']).allowed,
      false,
    );
  });

  it('matches unanchored patterns as substrings (Go MatchString)', () => {
    const engine = createPolicyEngine();
    engine.load([policy('loose', 'example\\.org', 'db', ['read'])]);
    assert.ok(engine.check('spiffe://example.org/anything', 'tenants/db/creds', ['read']).allowed);
    assert.ok(engine.check('spiffe://evil.com/example.org', 'xdbx', ['read']).allowed);
    assert.equal(engine.check(ADMIN, 'tenants/d-b', ['read']).allowed, false);
  });

  it('super satisfies any wanted permission; an empty wanted list needs only a match', () => {
    const engine = createPolicyEngine();
    engine.load([policy('root', '^spiffe://example\\.org/admin$', '^secrets/.*$', ['super'])]);
    assert.ok(engine.check(ADMIN, 'secrets/a', ['read', 'write', 'list', 'execute']).allowed);
    assert.ok(engine.check(ADMIN, 'secrets/a', []).allowed);
    assert.equal(engine.check(ADMIN + '-attacker', 'secrets/a', ['read']).allowed, false);
    assert.equal(engine.check(ADMIN, 'other/a', []).allowed, false);
  });

  it('denies by default with no policies', () => {
    const engine = createPolicyEngine();
    assert.deepEqual(engine.check(ADMIN, 'a', ['read']), { allowed: false });
    assert.equal(engine.size, 0);
  });
});

describe('reserved system paths (ADR-0033)', () => {
  const anchoredId = '^spiffe://example\\.org/admin$';

  it('rejects on upsert a policy that reaches a reserved path only by substring', () => {
    const engine = createPolicyEngine();
    for (const p of [
      policy('acl-substring', anchoredId, 'acl', ['write']),
      policy('spike-substring', anchoredId, 'spike', ['super']),
      policy('system-substring', anchoredId, 'system/secret', ['list']),
      policy('cipher-substring', anchoredId, 'cipher', ['execute']),
    ]) {
      const rule = checkReservedPathRule(p);
      assert.equal(rule.ok, false, p.name);
      assert.match(rule.ok ? '' : rule.reason, /spike\/system\//);
      assert.throws(() => engine.upsert(p), InvalidPolicyError);
    }
    assert.equal(engine.size, 0, 'nothing was installed');
  });

  it('rejects a describing path pattern paired with an imprecise SPIFFE ID pattern', () => {
    const p = policy('loose-id', 'spiffe://example\\.org/admin', '^spike/system/acl$', ['write']);
    assert.equal(checkReservedPathRule(p).ok, false);
    assert.equal(
      checkReservedPathRule(policy('half', '^spiffe://example\\.org/admin', '^spike/system/acl$', ['write']))
        .ok,
      false,
    );
  });

  it('accepts deliberate policies: described path and precise or catch-all ID', () => {
    const engine = createPolicyEngine();
    engine.upsert(policy('acl-admin', anchoredId, '^spike/system/acl$', ['write']));
    engine.upsert(policy('everything', '.*', '.*', ['list']));
    engine.upsert(policy('system', anchoredId, '^spike/system/.*$', ['read']));
    engine.upsert(policy('ordinary', 'example', 'tenants', ['read'])); // reaches no reserved path
    assert.ok(engine.check(ADMIN, 'spike/system/acl', ['write']).allowed);
    assert.equal(engine.check(ADMIN + '-attacker', 'spike/system/acl', ['write']).allowed, false);
    assert.ok(engine.check('spiffe://any/thing', 'spike/system/secret', ['list']).allowed);
    assert.deepEqual(engine.check(ADMIN, 'spike/system/cipher/exec', ['read']), {
      allowed: true,
      policy: 'system',
    });
  });

  it('checks every reserved path, not only the first one reached', () => {
    // describes spike/system/acl, but reaches spike/system/secret only by substring
    const p = policy('mixed', anchoredId, '^spike/system/acl$|secret', ['super']);
    const rule = checkReservedPathRule(p);
    assert.equal(rule.ok, false);
    assert.match(rule.ok ? '' : rule.reason, /spike\/system\/secret/);
  });

  it('ignores pre-existing violating policies on reserved paths only', () => {
    const engine = createPolicyEngine();
    const result = engine.load([
      policy('legacy', 'spiffe://example\\.org/admin', 'spike|tenants', ['super']),
      policy('broken', '(', 'a', ['read']),
      policy('fine', anchoredId, '^x$', ['read']),
    ]);
    assert.equal(result.loaded, 2);
    assert.deepEqual(
      result.rejected.map((r) => r.name),
      ['broken'],
    );
    assert.deepEqual(
      result.restricted.map((r) => r.name),
      ['legacy'],
    );
    assert.equal(engine.check(ADMIN, 'spike/system/acl', ['write']).allowed, false);
    assert.equal(engine.check(ADMIN, 'spike/system/secret', ['list']).allowed, false);
    assert.equal(engine.check(ADMIN, 'spike/system/cipher/exec', ['execute']).allowed, false);
    // still works on ordinary paths
    assert.deepEqual(engine.check(ADMIN, 'tenants/a', ['write']), { allowed: true, policy: 'legacy' });
    assert.ok(engine.check(ADMIN, 'spike/system/acl/extra', ['write']).allowed, 'not a reserved path');
  });
});

describe('policy engine: lifecycle and caching', () => {
  it('upsert replaces by name, remove deletes, and decisions follow immediately', () => {
    const engine = createPolicyEngine();
    assert.equal(engine.check(ADMIN, 'a/b', ['read']).allowed, false); // caches "no policies" for ADMIN
    engine.upsert(policy('p', anchoredIdFor(ADMIN), '^a/.*$', ['read']));
    assert.ok(engine.check(ADMIN, 'a/b', ['read']).allowed);
    engine.upsert(policy('p', anchoredIdFor(ADMIN), '^a/.*$', ['write']));
    assert.equal(engine.size, 1);
    assert.equal(engine.check(ADMIN, 'a/b', ['read']).allowed, false);
    assert.ok(engine.check(ADMIN, 'a/b', ['write']).allowed);
    engine.upsert(policy('p', '^spiffe://other$', '^a/.*$', ['write']));
    assert.equal(engine.check(ADMIN, 'a/b', ['write']).allowed, false);
    assert.ok(engine.check('spiffe://other', 'a/b', ['write']).allowed);
    assert.equal(engine.remove('p'), true);
    assert.equal(engine.remove('p'), false);
    assert.equal(engine.check('spiffe://other', 'a/b', ['write']).allowed, false);
    assert.equal(engine.size, 0);
  });

  it('a policy sent as plain data decides like the original, and is not compiled again on arrival', () => {
    const original = compilePolicy(policy('p', anchoredIdFor(ADMIN), '^spike/system/acl$', ['write']));
    const copy = fromPolicyTransfer(structuredClone(toPolicyTransfer(original)));
    assert.deepEqual(copy.reservedReached, original.reservedReached);
    assert.deepEqual([...copy.reservedGranted], [...original.reservedGranted]);
    const engine = createPolicyEngine();
    engine.upsert(copy);
    assert.ok(engine.check(ADMIN, 'spike/system/acl', ['write']).allowed);
    // Construction does not compile: a pattern that does not compile is noticed on first use only.
    const unchecked = fromPolicyTransfer({
      record: policy('bad', '(', '(', ['read']),
      reservedReached: [],
      reservedGranted: [],
    });
    assert.throws(() => unchecked.pathRegex);
  });

  it('reports every completed change to onChange, and nothing else', () => {
    let changes = 0;
    const kinds: string[] = [];
    const engine = createPolicyEngine({
      onChange: (change) => {
        changes++;
        kinds.push(change.kind === 'remove' ? `remove ${change.name}` : change.kind);
      },
    });
    engine.upsert(policy('p', anchoredIdFor(ADMIN), '^a$', ['read']));
    assert.equal(changes, 1);
    assert.throws(() => engine.upsert(policy('p', anchoredIdFor(ADMIN), '(', ['read'])), InvalidPolicyError);
    assert.equal(changes, 1, 'a failed upsert changes nothing');
    engine.check(ADMIN, 'a', ['read']);
    assert.equal(engine.remove('nope'), false);
    assert.equal(changes, 1, 'checks and removing an unknown name change nothing');
    assert.equal(engine.remove('p'), true);
    engine.load([policy('q', anchoredIdFor(ADMIN), '^q$', ['read'])]);
    assert.equal(changes, 3);
    assert.deepEqual(kinds, ['upsert', 'remove p', 'load']);
  });

  it('a failed upsert leaves the previous policy in place', () => {
    const engine = createPolicyEngine();
    engine.upsert(policy('p', anchoredIdFor(ADMIN), '^a$', ['read']));
    assert.throws(() => engine.upsert(policy('p', anchoredIdFor(ADMIN), '(', ['read'])), InvalidPolicyError);
    assert.throws(() => engine.upsert(policy('p', 'admin', 'acl', ['read'])), InvalidPolicyError);
    assert.ok(engine.check(ADMIN, 'a', ['read']).allowed);
  });

  it('load replaces everything', () => {
    const engine = createPolicyEngine();
    engine.upsert(policy('old', '.*', '.*', ['super']));
    engine.load([policy('new', anchoredIdFor(ADMIN), '^n$', ['read'])]);
    assert.equal(engine.size, 1);
    assert.equal(engine.check('spiffe://x', 'anything', []).allowed, false);
    assert.ok(engine.check(ADMIN, 'n', ['read']).allowed);
  });

  it('accepts an already compiled policy without recompiling it', () => {
    const engine = createPolicyEngine();
    const compiled = compilePolicy(policy('c', anchoredIdFor(ADMIN), '^c$', ['read']));
    assert.equal(engine.upsert(compiled), compiled);
    assert.ok(engine.check(ADMIN, 'c', ['read']).allowed);
  });

  it('stays correct with a tiny peer cache and many peers', () => {
    const engine = createPolicyEngine({ peerCacheSize: 2 });
    engine.load([policy('even', '^spiffe://td/[0-9]*[02468]$', '^p$', ['read'])]);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        assert.equal(engine.check(`spiffe://td/${i}`, 'p', ['read']).allowed, i % 2 === 0);
      }
    }
  });

  it('agrees with a naive evaluation through any sequence of changes (property)', () => {
    const ids = [
      'spiffe://td/a',
      'spiffe://td/b',
      'spiffe://td/ab',
      'spiffe://other/a',
      'spiffe://td/a.b',
      'spiffe://td/b/c',
      'spiffe://td/bc',
      'xspiffe://td/a',
    ];
    const paths = ['x', 'x/y', 'y', 'spike/system/acl', 'spike/system/secret', 'x/z', 'xy', 'x.y', 'x/yz'];
    const idPatterns = [
      '^spiffe://td/a$',
      'td/a',
      'b',
      '.*',
      '^spiffe://td/.*$',
      'other',
      '^spiffe://td/a\\.b$',
      '^spiffe://td/a.b$',
      '^spiffe://td/ab?$',
      '^spiffe://td/a$|b',
      // Regex ID patterns with an anchored literal prefix (skipped by prefix when it differs).
      '^spiffe://td/a.*$',
      '^spiffe://td/b(/.*)?$',
      '^spiffe://td/bc?$',
      '^spiffe://other/',
      '^spiffe://td/[ab]$',
      '^spiffe://td\\/b',
    ];
    const pathPatterns = [
      '^x$',
      'x',
      'y',
      '.*',
      '^spike/system/acl$',
      'system',
      '^x/.*$',
      '^x/y?z$',
      '^x\\.y$',
      '^x/y|z',
      '^x/yz*',
      '^x{2}',
      '^x\\/y',
    ];
    const perms: Permission[] = ['read', 'write', 'list', 'super'];
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('upsert' as const),
        name: fc.constantFrom('p1', 'p2', 'p3', 'p4'),
        id: fc.constantFrom(...idPatterns),
        path: fc.constantFrom(...pathPatterns),
        perms: fc.subarray(perms, { minLength: 1 }),
      }),
      fc.record({ kind: fc.constant('remove' as const), name: fc.constantFrom('p1', 'p2', 'p3', 'p4') }),
      fc.record({
        kind: fc.constant('check' as const),
        peer: fc.constantFrom(...ids),
        path: fc.constantFrom(...paths),
        wanted: fc.subarray(perms),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.constantFrom(0, 1, 3, 1000),
        (ops, decisionCacheSize) => {
          const engine = createPolicyEngine({ peerCacheSize: 2, decisionCacheSize });
          const model = new Map<string, PolicyRecord>();
          for (const o of ops) {
            if (o.kind === 'upsert') {
              const rec = policy(o.name, o.id, o.path, o.perms);
              const ok = naiveReservedOk(rec);
              if (ok) {
                engine.upsert(rec);
                model.set(o.name, rec);
              } else {
                assert.throws(() => engine.upsert(rec), InvalidPolicyError);
              }
            } else if (o.kind === 'remove') {
              assert.equal(engine.remove(o.name), model.delete(o.name));
            } else {
              const expected = [...model.values()].some((p) => naiveGrants(p, o.peer, o.path, o.wanted));
              assert.equal(engine.check(o.peer, o.path, o.wanted).allowed, expected);
            }
          }
        },
      ),
      { numRuns: 600 },
    );
  });
});

describe('policy engine: fast paths', () => {
  /** A compiled policy whose regexes must not be used (their getters throw). */
  function noRegex(p: PolicyRecord, which: 'idRegex' | 'pathRegex'): ReturnType<typeof compilePolicy> {
    const c = compilePolicy(p);
    Object.defineProperty(c, which, {
      get() {
        throw new Error(`${which} was used`);
      },
    });
    return c;
  }

  it('finds a policy with a literal SPIFFE ID pattern without its regex', () => {
    const engine = createPolicyEngine();
    engine.upsert(noRegex(policy('lit', '^spiffe://td/a\\.b$', '^x$', ['read']), 'idRegex'));
    assert.deepEqual(engine.check('spiffe://td/a.b', 'x', ['read']), { allowed: true, policy: 'lit' });
    assert.equal(engine.check('spiffe://td/aXb', 'x', ['read']).allowed, false);
    assert.equal(engine.check('spiffe://td/a.bc', 'x', ['read']).allowed, false);
    assert.equal(engine.check('xspiffe://td/a.b', 'x', ['read']).allowed, false);
  });

  it('treats quantified, classed, alternated and escaped-letter ID patterns as regexes', () => {
    for (const pattern of [
      '^spiffe://td/ab?$',
      '^spiffe://td/a.b$',
      '^spiffe://td/a$|b',
      '^spiffe://td/\\w$',
    ]) {
      const engine = createPolicyEngine();
      engine.upsert(noRegex(policy('re', pattern, '^x$', ['read']), 'idRegex'));
      assert.throws(() => engine.check('spiffe://td/a', 'x', ['read']), /idRegex was used/, pattern);
    }
  });

  it('skips a path pattern whose anchored literal prefix the path lacks, without its regex', () => {
    const engine = createPolicyEngine();
    engine.upsert(noRegex(policy('teams', '^spiffe://td/a$', '^teams/a/.*$', ['read']), 'pathRegex'));
    assert.equal(engine.check('spiffe://td/a', 'bench/read/1', ['read']).allowed, false);
    assert.equal(engine.check('spiffe://td/a', 'teams/b/x', ['read']).allowed, false);
    assert.throws(() => engine.check('spiffe://td/a', 'teams/a/x', ['read']), /pathRegex was used/);
  });

  it('decides exactly like the regexes for literal, prefixed and tricky patterns (exhaustive)', () => {
    const ids = [
      'spiffe://td/a',
      'spiffe://td/ab',
      'spiffe://td/a.b',
      'spiffe://td/aXb',
      'spiffe://td/a$',
      'b',
    ];
    const idPatterns = [
      '^spiffe://td/a$',
      '^spiffe://td/a\\.b$',
      '^spiffe://td/a.b$',
      '^spiffe://td/ab?$',
      '^spiffe://td/ab*$',
      '^spiffe://td/a$|b',
      '^spiffe://td/a\\$',
      '^spiffe://td/a$$',
      '^spiffe://td/(a)$',
      '^spiffe://td/a{1}b$',
      '^$',
    ];
    const paths = [
      'x',
      'x/',
      'x/y',
      'x/z',
      'x/yz',
      'x/yzz',
      'xx',
      'xxx',
      'x.y',
      'xay',
      'x/y/z',
      'z',
      'yx',
      '',
    ];
    const pathPatterns = [
      '^x/y?z',
      '^x/yz*',
      '^x/y+z',
      '^x{2}',
      '^x\\.y',
      '^x.y',
      '^x/y|z',
      '^x\\/y',
      '^x/(y|z)',
      '^x[/]y',
      '^(?i)X',
      '^x\\dy',
      '^',
      'x/y',
    ];
    for (const idp of idPatterns) {
      for (const pp of pathPatterns) {
        const engine = createPolicyEngine();
        assert.equal(engine.load([policy('p', idp, pp, ['read'])]).loaded, 1);
        const idRe = RE2JS.compile(idp);
        const pathRe = RE2JS.compile(pp);
        for (const id of ids) {
          for (const path of paths) {
            const expected = idRe.test(id) && pathRe.test(path);
            assert.equal(engine.check(id, path, ['read']).allowed, expected, `${idp} ${pp} ${id} ${path}`);
          }
        }
      }
    }
  });

  it('compiles a regex once, on first use, and reuses it', () => {
    const c = compilePolicy(policy('p', '^spiffe://td/.*$', '^a/.*$', ['read']));
    assert.equal(c.idRegex, c.idRegex);
    assert.equal(c.pathRegex, c.pathRegex);
    assert.equal(c.idLiteral, undefined);
    assert.equal(c.pathPrefix, 'a/');
    assert.equal(compilePolicy(policy('q', '^spiffe://td/x$', 'a', ['read'])).idLiteral, 'spiffe://td/x');
  });

  it('caches decisions and drops them on every change', () => {
    const engine = createPolicyEngine({ decisionCacheSize: 4 });
    engine.upsert(policy('p', '^spiffe://td/.*$', '^a/.*$', ['read']));
    for (let i = 0; i < 10; i++) assert.ok(engine.check('spiffe://td/x', `a/${String(i)}`, ['read']).allowed);
    engine.upsert(policy('p', '^spiffe://td/.*$', '^b/.*$', ['read']));
    for (let i = 0; i < 10; i++) {
      assert.equal(engine.check('spiffe://td/x', `a/${String(i)}`, ['read']).allowed, false);
      assert.ok(engine.check('spiffe://td/x', `b/${String(i)}`, ['read']).allowed);
    }
    engine.remove('p');
    assert.equal(engine.check('spiffe://td/x', 'b/1', ['read']).allowed, false);
  });

  it('keeps decisions apart for peers and paths that concatenate alike, and for permissions', () => {
    const engine = createPolicyEngine();
    engine.upsert(policy('p', '^spiffe://td/ab$', '^c$', ['read']));
    assert.ok(engine.check('spiffe://td/ab', 'c', ['read']).allowed);
    assert.equal(engine.check('spiffe://td/a', 'bc', ['read']).allowed, false);
    assert.equal(engine.check('spiffe://td/ab', 'c', ['write']).allowed, false);
    assert.equal(engine.check('spiffe://td/ab', 'c', ['read', 'write']).allowed, false);
    assert.ok(engine.check('spiffe://td/ab', 'c', []).allowed);
  });

  it('decides long paths correctly without caching them', () => {
    const engine = createPolicyEngine({ decisionCacheSize: 1 });
    engine.upsert(policy('p', '.*', '^a/.*$', ['read']));
    const long = 'a/' + 'x'.repeat(100_000);
    assert.ok(engine.check('spiffe://td/x', long, ['read']).allowed);
    engine.remove('p');
    assert.equal(engine.check('spiffe://td/x', long, ['read']).allowed, false);
  });
});

describe('policy engine: linear time and scale', () => {
  it('evaluates pathological patterns against long inputs (RE2, no backtracking)', () => {
    const engine = createPolicyEngine();
    engine.load([
      policy('evil-path', '.*', '(a+)+$', ['read']),
      policy('evil-id', '^(a|a)*(a|aa)*$', '^(x+x+)+y$', ['read']),
    ]);
    const longA = 'a'.repeat(50_000) + 'b';
    // "(a+)+$" matches the trailing run of a's only if the input ends with "a"
    assert.equal(engine.check('spiffe://td/x', longA, ['read']).allowed, false);
    assert.ok(engine.check('spiffe://td/x', longA + 'a', ['read']).allowed);
    assert.equal(engine.check('a'.repeat(50_000) + '!', 'x'.repeat(50_000), ['read']).allowed, false);
    assert.equal(engine.check('a'.repeat(50_000), 'x'.repeat(50_000), ['read']).allowed, false);
    assert.ok(engine.check('a'.repeat(50_000), 'x'.repeat(50_000) + 'y', ['read']).allowed);
  });

  it('handles 10,000 policies', () => {
    const records: PolicyRecord[] = [];
    for (let i = 0; i < 10_000; i++) {
      records.push(policy(`p${i}`, `^spiffe://example\\.org/app${i}$`, `^apps/${i}/.*$`, ['read']));
    }
    const engine = createPolicyEngine();
    const result = engine.load(records);
    assert.equal(result.loaded, 10_000);
    assert.deepEqual(result.rejected, []);
    assert.deepEqual(engine.check('spiffe://example.org/app9999', 'apps/9999/db', ['read']), {
      allowed: true,
      policy: 'p9999',
    });
    assert.equal(engine.check('spiffe://example.org/app9999', 'apps/9998/db', ['read']).allowed, false);
    assert.equal(engine.check('spiffe://example.org/app1', 'apps/1/db', ['write']).allowed, false);
    for (let i = 0; i < 10_000; i += 997) {
      assert.ok(engine.check(`spiffe://example.org/app${i}`, `apps/${i}/x`, ['read']).allowed);
    }
  });

  it('finds regex ID patterns among 10,000 by their prefix, through removals and re-adds', () => {
    const records: PolicyRecord[] = [];
    for (let i = 0; i < 10_000; i++) {
      records.push(policy(`p${i}`, `^spiffe://example\\.org/app${i}(/.*)?$`, `^apps/${i}/.*$`, ['read']));
    }
    // Patterns without a usable prefix, and one whose prefix is the whole trust domain.
    records.push(policy('any-app', 'app12/', '^shared/.*$', ['read']));
    records.push(policy('domain', '^spiffe://example\\.org/.*$', '^common$', ['read']));
    const engine = createPolicyEngine({ decisionCacheSize: 0, peerCacheSize: 1 });
    engine.load(records);
    const can = (peer: string, path: string): boolean => engine.check(peer, path, ['read']).allowed;
    assert.ok(can('spiffe://example.org/app12/worker', 'apps/12/x'));
    assert.ok(can('spiffe://example.org/app12', 'apps/12/x'));
    assert.equal(can('spiffe://example.org/app12x', 'apps/12/x'), false);
    // app1 is a prefix of app12: its pattern is looked up too, and its regex decides.
    assert.equal(can('spiffe://example.org/app12/worker', 'apps/1/x'), false);
    assert.ok(can('spiffe://example.org/app1/worker', 'apps/1/x'));
    assert.ok(can('spiffe://example.org/app12/w', 'shared/a'));
    assert.equal(can('spiffe://example.org/app13/w', 'shared/a'), false);
    assert.ok(can('spiffe://example.org/app9999', 'common'));
    assert.equal(can('spiffe://other.org/app12', 'apps/12/x'), false);
    assert.ok(engine.remove('p12'));
    assert.equal(can('spiffe://example.org/app12/worker', 'apps/12/x'), false);
    engine.upsert(policy('p12', '^spiffe://example\\.org/app12(/.*)?$', '^apps/12/.*$', ['read']));
    assert.ok(can('spiffe://example.org/app12/worker', 'apps/12/x'));
    // Moving a policy to another pattern leaves nothing behind under the old prefix.
    engine.upsert(policy('p12', '^spiffe://example\\.org/team12(/.*)?$', '^apps/12/.*$', ['read']));
    assert.equal(can('spiffe://example.org/app12/worker', 'apps/12/x'), false);
    assert.ok(can('spiffe://example.org/team12/worker', 'apps/12/x'));
  });
});

function anchoredIdFor(id: string): string {
  return '^' + id.replaceAll('.', '\\.') + '$';
}

/** Independent reference implementation of SPIKE's rule, compiling on every call. */
function naiveGrants(p: PolicyRecord, peer: string, path: string, wanted: Permission[]): boolean {
  if (!RE2JS.compile(p.spiffeIdPattern).test(peer)) return false;
  if (!RE2JS.compile(p.pathPattern).test(path)) return false;
  if (['spike/system/acl', 'spike/system/secret', 'spike/system/cipher/exec'].includes(path)) {
    if (!naiveMayReach(p, path)) return false;
  }
  return p.permissions.includes('super') || wanted.every((w) => p.permissions.includes(w));
}

function naiveMayReach(p: PolicyRecord, reserved: string): boolean {
  const describes = RE2JS.compile(`^(?:${p.pathPattern})$`).test(reserved);
  const id = p.spiffeIdPattern;
  const precise =
    (id.startsWith('^') && id.endsWith('$')) ||
    RE2JS.compile(`^(?:${id})$`).test('spike-arbitrary-probe-value');
  return describes && precise;
}

function naiveReservedOk(p: PolicyRecord): boolean {
  const re = RE2JS.compile(p.pathPattern);
  return ['spike/system/acl', 'spike/system/secret', 'spike/system/cipher/exec'].every(
    (r) => !re.test(r) || naiveMayReach(p, r),
  );
}

describe('people and groups in policies (ADR 0036)', () => {
  const forPeople = (name: string, over: Partial<PolicyRecord>, path = '^infra/.*$'): PolicyRecord => ({
    ...policy(name, '', path, ['read']),
    ...over,
  });

  it('grants people by exact principal or group, never by SPIFFE ID pattern', () => {
    const engine = createPolicyEngine();
    engine.load([
      forPeople('infra', { groups: ['infra'] }),
      forPeople('alice', { people: ['user:alice'], permissions: ['super'] }, '^personal/alice/.*$'),
      policy('wide', 'spiffe://spike\\.ist/', '^infra/.*$', ['read']),
    ]);
    assert.equal(engine.checkPerson('user:bob', ['infra'], 'infra/a', ['read']).policy, 'infra');
    assert.equal(engine.checkPerson('user:bob', ['infr'], 'infra/a', ['read']).allowed, false);
    assert.equal(engine.checkPerson('user:bob', ['Infra'], 'infra/a', ['read']).allowed, false);
    assert.equal(engine.checkPerson('user:bob', ['infra'], 'infra/a', ['write']).allowed, false);
    assert.equal(engine.checkPerson('user:alice', [], 'personal/alice/x', ['write']).policy, 'alice');
    assert.equal(engine.checkPerson('user:alicex', [], 'personal/alice/x', ['read']).allowed, false);
    // A person named like a SPIFFE ID is not matched by the SPIFFE ID pattern.
    assert.equal(engine.checkPerson('user:spiffe://spike.ist/x', [], 'infra/a', ['read']).allowed, false);
    assert.equal(engine.checkPerson('spiffe://spike.ist/x', [], 'infra/a', ['read']).allowed, false);
    // People fields never match workloads, whatever their SPIFFE ID.
    engine.upsert(
      forPeople('odd', { people: ['user:spiffe://spike.ist/w'], groups: ['spiffe://spike.ist/w'] }),
    );
    assert.equal(engine.check('spiffe://spike.ist/w', 'infra/a', ['read']).policy, 'wide');
    engine.remove('wide');
    assert.equal(engine.check('spiffe://spike.ist/w', 'infra/a', ['read']).allowed, false);
    // An empty SPIFFE ID pattern names no workload (it would match every ID unanchored).
    assert.equal(engine.check(WORKLOAD, 'infra/a', ['read']).allowed, false);
  });

  it('follows upserts and removals, and loads policies stored before people existed', () => {
    const engine = createPolicyEngine();
    engine.load([policy('legacy', `^${WORKLOAD}$`, '^a/.*$', ['read']), forPeople('g', { groups: ['g'] })]);
    assert.equal(engine.check(WORKLOAD, 'a/x', ['read']).allowed, true);
    assert.equal(engine.checkPerson('user:z', ['g'], 'infra/x', ['read']).allowed, true);
    engine.upsert(forPeople('g', { groups: ['h'] }));
    assert.equal(engine.checkPerson('user:z', ['g'], 'infra/x', ['read']).allowed, false);
    assert.equal(engine.checkPerson('user:z', ['h'], 'infra/x', ['read']).allowed, true);
    engine.remove('g');
    assert.equal(engine.checkPerson('user:z', ['h'], 'infra/x', ['read']).allowed, false);
    assert.deepEqual(
      engine.all().map((p) => p.name),
      ['legacy'],
    );
    engine.upsert(forPeople('p1', { people: ['user:a'] }));
    assert.deepEqual(
      engine.all().map((p) => p.name),
      ['legacy', 'p1'],
    );
  });

  it('marks the paths of workloads-only policies', () => {
    const engine = createPolicyEngine();
    engine.load([{ ...policy('sys', `^${WORKLOAD}$`, '^system/.*$', ['read']), workloadsOnly: true }]);
    assert.equal(engine.isWorkloadsOnly('system/db'), true);
    assert.equal(engine.isWorkloadsOnly('systems/db'), false);
    assert.equal(engine.check(WORKLOAD, 'system/db', ['read']).allowed, true);
    engine.remove('sys');
    assert.equal(engine.isWorkloadsOnly('system/db'), false);
  });

  it('refuses contradictory people fields and keeps the reserved-path rule', () => {
    const bad: PolicyRecord[] = [
      policy('empty', '', '^a$', ['read']),
      forPeople('both', { groups: ['g'], workloadsOnly: true }),
      forPeople('bare', { people: ['alice'] }),
      forPeople('prefix-only', { people: ['user:'] }),
    ];
    for (const p of bad) assert.throws(() => compilePolicy(p), InvalidPolicyError, p.name);
    // People-only policies are precise: they may grant on a reserved path they describe.
    assert.equal(
      checkReservedPathRule(forPeople('acl', { groups: ['admins'] }, '^spike/system/acl$')).ok,
      true,
    );
    assert.equal(checkReservedPathRule(forPeople('wide', { groups: ['admins'] }, 'system/acl')).ok, false);
    const engine = createPolicyEngine();
    engine.upsert(forPeople('acl', { groups: ['ops'], permissions: ['list'] }, '^spike/system/acl$'));
    assert.equal(engine.checkPerson('user:o', ['ops'], 'spike/system/acl', ['list']).allowed, true);
  });

  it('hands the people fields to another engine (API threads)', () => {
    const main = createPolicyEngine();
    main.load([
      forPeople('g', { groups: ['g'] }),
      { ...policy('w', `^${WORKLOAD}$`, '^s/.*$', ['read']), workloadsOnly: true },
    ]);
    const mirror = createPolicyEngine();
    mirror.load(main.all().map((p) => fromPolicyTransfer(structuredClone(toPolicyTransfer(p)))));
    assert.equal(mirror.checkPerson('user:z', ['g'], 'infra/x', ['read']).allowed, true);
    assert.equal(mirror.isWorkloadsOnly('s/x'), true);
  });
});

describe('approval rules (ADR 0042)', () => {
  const marker = (
    name: string,
    pathPattern: string,
    permissions: Permission[],
    approval: PolicyRecord['approval'],
  ): PolicyRecord => ({ ...policy(name, '', pathPattern, permissions), approval });

  it('is one boolean while no policy has a rule, and finds the rules matching a path and permission', () => {
    const engine = createPolicyEngine();
    engine.load([policy('plain', `^${WORKLOAD}$`, '^cloud/.*$', ['read'])]);
    assert.equal(engine.hasApprovalRules, false);
    assert.deepEqual(engine.approvalRules('cloud/master', 'read'), []);
    engine.upsert(marker('two', '^cloud/.*$', ['read'], { required: 2, approverGroups: ['infra'] }));
    engine.upsert(
      marker('sign', '^keys/release$', ['super'], {
        required: 1,
        approverPeople: ['user:a'],
        permissions: ['sign'],
      }),
    );
    assert.equal(engine.hasApprovalRules, true);
    assert.deepEqual(
      engine.approvalRules('cloud/master', 'read').map((r) => [r.policy, r.rule.required]),
      [['two', 2]],
    );
    // Not the permission it gates, not a path it matches.
    assert.deepEqual(engine.approvalRules('cloud/master', 'write'), []);
    assert.deepEqual(engine.approvalRules('clouds/master', 'read'), []);
    // Its own permissions list wins over the policy's `super`.
    assert.equal(engine.approvalRules('keys/release', 'sign').length, 1);
    assert.deepEqual(engine.approvalRules('keys/release', 'decrypt'), []);
    // A marker-only policy grants nobody.
    assert.equal(engine.check(WORKLOAD, 'cloud/master', ['read']).allowed, true);
    assert.equal(engine.checkPerson('user:x', ['infra'], 'cloud/master', ['read']).allowed, false);
    engine.remove('two');
    engine.remove('sign');
    assert.equal(engine.hasApprovalRules, false);
  });

  it('gates every gateable operation of a super policy, and each matching rule counts', () => {
    const engine = createPolicyEngine();
    engine.load([
      marker('all', '^vault/.*$', ['super'], { required: 1, approverGroups: ['a'] }),
      marker('more', '^vault/deep/.*$', ['read'], { required: 3, approverGroups: ['b'] }),
    ]);
    for (const p of ['read', 'write', 'sign', 'decrypt'] as const) {
      assert.equal(engine.approvalRules('vault/x', p).length, 1, p);
    }
    assert.deepEqual(engine.approvalRules('vault/x', 'list'), []);
    assert.deepEqual(
      engine.approvalRules('vault/deep/x', 'read').map((r) => r.policy),
      ['all', 'more'],
    );
  });

  it('hands the rules to another engine (API threads) and forgets them on load', () => {
    const main = createPolicyEngine();
    main.load([marker('m', '^s/.*$', ['read'], { required: 1, approverGroups: ['g'] })]);
    const mirror = createPolicyEngine();
    mirror.load(main.all().map((p) => fromPolicyTransfer(structuredClone(toPolicyTransfer(p)))));
    assert.equal(mirror.approvalRules('s/x', 'read').length, 1);
    mirror.load([]);
    assert.equal(mirror.hasApprovalRules, false);
  });

  it('refuses an empty SPIFFE ID pattern without people unless the policy has a rule', () => {
    assert.throws(() => compilePolicy(policy('nobody', '', '^a$', ['read'])), InvalidPolicyError);
    compilePolicy(marker('marker', '^a$', ['read'], { required: 1, approverGroups: ['g'] }));
    // The reserved-path rule still holds: a rule on policy changes names the path exactly.
    assert.equal(
      checkReservedPathRule(
        marker('acl', '^spike/system/acl$', ['write'], { required: 1, approverGroups: ['g'] }),
      ).ok,
      true,
    );
    assert.equal(
      checkReservedPathRule(marker('wide', 'system/acl', ['write'], { required: 1, approverGroups: ['g'] }))
        .ok,
      false,
    );
  });
});
