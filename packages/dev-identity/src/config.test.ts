import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  DevIssuerConfigError,
  loadConfigFile,
  mergeSettings,
  parseConfigObject,
  parseIdentityFlag,
  parseTtl,
  resolveConfig,
} from './config.ts';

describe('dev issuer config', () => {
  const tmp = fs.mkdtempSync('/tmp/spx-');
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('defaults to SPIKE roles under spike.ist with role-derived socket names', () => {
    const c = resolveConfig({}, '/tmp/proj');
    assert.equal(c.trustDomain, 'spike.ist');
    assert.equal(c.stateDir, '/tmp/proj/.dev-identity');
    assert.equal(c.socketDir, '/tmp/proj/.dev-identity/sockets');
    assert.equal(c.svidTtlMs, 3_600_000);
    assert.equal(c.jwtTtlMs, 300_000);
    const got = c.identities.map((i) => [i.spiffeId, path.basename(i.socketPath)]);
    assert.deepEqual(got, [
      ['spiffe://spike.ist/spike/nexus', 'nexus.sock'],
      ['spiffe://spike.ist/spike/keeper', 'keeper.sock'],
      ['spiffe://spike.ist/spike/bootstrap', 'bootstrap.sock'],
      ['spiffe://spike.ist/spike/pilot/role/superuser', 'pilot.sock'],
      ['spiffe://spike.ist/spike/pilot/role/recover', 'pilot-recover.sock'],
      ['spiffe://spike.ist/spike/pilot/role/restore', 'pilot-restore.sock'],
      ['spiffe://spike.ist/spike/workload/role/lite', 'lite.sock'],
      ['spiffe://spike.ist/workload/demo', 'demo.sock'],
    ]);
  });

  it('moves default identities with --trust-domain', () => {
    const c = resolveConfig({ trustDomain: 'dev.test' }, '/tmp/p');
    assert.ok(c.identities.every((i) => i.spiffeId.startsWith('spiffe://dev.test/')));
  });

  it('fails clearly when a socket path exceeds the sun_path limit', () => {
    const deep = '/tmp/' + 'd'.repeat(100);
    assert.throws(
      () => resolveConfig({ socketDir: deep }, '/'),
      (err: unknown) =>
        err instanceof DevIssuerConfigError &&
        /107 bytes/.test(err.message) &&
        /--socket-dir/.test(err.message),
    );
  });

  it('rejects identities outside the trust domain, bad IDs, path-less IDs, duplicate names and bad names', () => {
    const cases: Array<[DevIssuerSettingsLike, RegExp]> = [
      [{ identities: [{ name: 'a', spiffeId: 'spiffe://other.td/a' }] }, /not in the issuer's trust domain/],
      [{ identities: [{ name: 'a', spiffeId: 'spiffe://spike.ist/a//b' }] }, /empty segments/],
      [{ identities: [{ name: 'a', spiffeId: 'spiffe://spike.ist' }] }, /needs a path/],
      [
        {
          identities: [
            { name: 'a', spiffeId: 'spiffe://spike.ist/a' },
            { name: 'a', spiffeId: 'spiffe://spike.ist/b' },
          ],
        },
        /used twice/,
      ],
      [{ identities: [{ name: '../x', spiffeId: 'spiffe://spike.ist/a' }] }, /invalid identity name/],
      [{ identities: [] }, /at least one identity/],
      [{ trustDomain: 'Bad.TD' }, /invalid trust domain/],
      [{ svidTtlMs: 10 }, /between 1s/],
    ];
    for (const [settings, why] of cases) {
      assert.throws(
        () => resolveConfig(settings, '/tmp/p'),
        (err: unknown) => err instanceof DevIssuerConfigError && why.test(err.message),
      );
    }
  });

  it('parses flags', () => {
    assert.deepEqual(parseIdentityFlag('app=spiffe://spike.ist/app'), {
      name: 'app',
      spiffeId: 'spiffe://spike.ist/app',
    });
    assert.throws(() => parseIdentityFlag('spiffe://spike.ist/app'), /<name>=<spiffe-id>/);
    assert.equal(parseTtl('5s', '--svid-ttl'), 5000);
    assert.throws(() => parseTtl('5', '--svid-ttl'), /--svid-ttl: invalid duration/);
    assert.throws(() => parseTtl('500ms', '--svid-ttl'), /between 1s/);
  });

  it('loads a JSON config file, resolving relative paths against its directory', () => {
    const file = path.join(tmp, 'dev.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        trustDomain: 'spike.ist',
        stateDir: 'state',
        socketDir: 's',
        svidTtl: '10m',
        jwtTtl: '1m',
        identities: [
          { name: 'app', spiffeId: 'spiffe://spike.ist/app', socket: 'custom.sock', uid: 1001, gid: 1002 },
        ],
      }),
    );
    const settings = loadConfigFile(file);
    const c = resolveConfig(settings, '/somewhere/else');
    assert.equal(c.stateDir, path.join(tmp, 'state'));
    assert.equal(c.socketDir, path.join(tmp, 's'));
    assert.equal(c.svidTtlMs, 600_000);
    assert.equal(c.jwtTtlMs, 60_000);
    assert.deepEqual(c.identities, [
      {
        name: 'app',
        spiffeId: 'spiffe://spike.ist/app',
        socketPath: path.join(tmp, 's', 'custom.sock'),
        uid: 1001,
        gid: 1002,
      },
    ]);
  });

  it('rejects unknown keys and wrong types in the config file', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ trustdomain: 'x' }, /unknown key "trustdomain"/],
      [
        { identities: [{ name: 'a', spiffeId: 'spiffe://spike.ist/a', mode: 1 }] },
        /identities\[0\]: unknown key "mode"/,
      ],
      [{ identities: {} }, /must be an array/],
      [{ identities: [{ name: 'a' }] }, /needs name and spiffeId/],
      [
        { identities: [{ name: 'a', spiffeId: 'spiffe://spike.ist/a', uid: -1 }] },
        /uid must be a non-negative integer/,
      ],
      [{ svidTtl: 60 }, /svidTtl must be a non-empty string/],
      [[], /must be a JSON object/],
    ];
    for (const [doc, why] of cases) {
      assert.throws(
        () => parseConfigObject(doc, 'cfg.json', tmp),
        (err: unknown) => err instanceof DevIssuerConfigError && why.test(err.message),
      );
    }
    const broken = path.join(tmp, 'broken.json');
    fs.writeFileSync(broken, '{ nope');
    assert.throws(() => loadConfigFile(broken), /not valid JSON/);
    assert.throws(() => loadConfigFile(path.join(tmp, 'missing.json')), /cannot read config file/);
  });

  it('lets flags override config entries by name and replace the default set', () => {
    const merged = mergeSettings(
      {
        trustDomain: 'spike.ist',
        identities: [
          { name: 'a', spiffeId: 'spiffe://spike.ist/a' },
          { name: 'b', spiffeId: 'spiffe://spike.ist/b' },
        ],
      },
      { identities: [{ name: 'b', spiffeId: 'spiffe://spike.ist/b2' }] },
    );
    assert.deepEqual(
      merged.identities?.map((i) => i.spiffeId),
      ['spiffe://spike.ist/a', 'spiffe://spike.ist/b2'],
    );
    assert.equal(resolveConfig(merged, '/tmp/p').identities.length, 2);
  });
});

type DevIssuerSettingsLike = Parameters<typeof resolveConfig>[0];
