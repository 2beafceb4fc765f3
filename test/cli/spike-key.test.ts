/**
 * End to end with real processes: a `spike-nexus` process (identity from the dev issuer, mTLS)
 * and the `spike` binary create, rotate, retire and use named keys; `gpg` and `openssl` check
 * what comes out, and make what goes in.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NEXUS_BIN, killAll, launch, waitForPort } from '../nexus/processes.ts';
import { ok, runSpike, startIdentityLab, type IdentityLab } from './cli-harness.ts';

describe('spike key, sign, verify (real Nexus process)', () => {
  let lab: IdentityLab;
  let url: string;
  let work: string;
  let gnupg: string;
  const spike = (args: string[], input?: string | Buffer, identity = 'pilot') =>
    runSpike(args, { env: lab.env(identity, url), ...(input === undefined ? {} : { input }) });
  const p = (name: string): string => join(work, name);
  const gpg = (args: string[], input?: string | Buffer) =>
    spawnSync(
      'gpg',
      ['--batch', '--no-tty', '--homedir', gnupg, ...args],
      input === undefined ? {} : { input },
    );

  before(async () => {
    lab = await startIdentityLab();
    work = mkdtempSync('/tmp/spx-kw-');
    gnupg = mkdtempSync('/tmp/spx-kg-');
    const nexus = launch(NEXUS_BIN, {
      SPIFFE_ENDPOINT_SOCKET: lab.issuer.endpointFor('nexus'),
      SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
      SPIKE_NEXUS_HEALTH_ADDR: 'off',
      SPIKE_NEXUS_BACKEND_STORE: 'memory',
      HOME: lab.dir,
    });
    url = `https://127.0.0.1:${String(await waitForPort(nexus))}`;
    writeFileSync(p('release.tar'), 'release 2.0.0 contents\n');
  });
  after(async () => {
    await killAll();
    spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'all']);
    rmSync(work, { recursive: true, force: true });
    rmSync(gnupg, { recursive: true, force: true });
    await lab.close();
  });

  it('an OpenPGP release key: gpg --verify accepts what spike sign wrote', async () => {
    ok(
      await spike([
        'key',
        'create',
        'release/pgp',
        '--algorithm',
        'openpgp-ed25519',
        '--user-id',
        'Release Team <release@example.org>',
      ]),
    );
    ok(await spike(['key', 'public', 'release/pgp', '-o', p('release.asc')]));
    assert.match(readFileSync(p('release.asc'), 'utf8'), /BEGIN PGP PUBLIC KEY BLOCK/);
    assert.equal(gpg(['--import', p('release.asc')]).status, 0);
    ok(await spike(['sign', 'release/pgp', '-f', p('release.tar'), '-o', p('release.tar.asc')]));
    const v = gpg(['--verify', p('release.tar.asc'), p('release.tar')]);
    assert.equal(v.status, 0, v.stderr.toString());
    assert.match(v.stderr.toString(), /Good signature from "Release Team <release@example.org>"/);
    writeFileSync(p('tampered.tar'), 'release 2.0.1 contents\n');
    assert.notEqual(gpg(['--verify', p('release.tar.asc'), p('tampered.tar')]).status, 0);
    ok(await spike(['verify', 'release/pgp', '-s', p('release.tar.asc'), '-f', p('release.tar')]));
  });

  it('an ECDSA key: openssl verifies the binary signature; rotation and retirement', async () => {
    ok(await spike(['key', 'create', 'ci/ecdsa', '-a', 'ecdsa-p384']));
    ok(await spike(['key', 'public', 'ci/ecdsa', '--format', 'pem', '-o', p('ci.pem')]));
    ok(await spike(['sign', 'ci/ecdsa', '--binary', '-f', p('release.tar'), '-o', p('ci.sig')]));
    const o = spawnSync('openssl', [
      'dgst',
      '-sha384',
      '-verify',
      p('ci.pem'),
      '-signature',
      p('ci.sig'),
      p('release.tar'),
    ]);
    assert.equal(o.status, 0, o.stderr.toString());
    const jwk = JSON.parse(ok(await spike(['key', 'public', 'ci/ecdsa', '--format', 'jwk'])).stdout) as {
      crv: string;
      d?: string;
    };
    assert.equal(jwk.crv, 'P-384');
    assert.equal(jwk.d, undefined);
    // Base64 signature from stdin data.
    const b64 = ok(await spike(['sign', 'ci/ecdsa'], readFileSync(p('release.tar')))).stdout.trim();
    writeFileSync(p('ci.b64'), b64);
    ok(await spike(['verify', 'ci/ecdsa', '-s', p('ci.b64'), '-f', p('release.tar')]));
    const bad = await spike(['verify', 'ci/ecdsa', '-s', p('ci.b64'), '-f', p('tampered.tar')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /NOT valid/);
    assert.match(ok(await spike(['key', 'rotate', 'ci/ecdsa'])).stdout, /version 2/);
    ok(await spike(['verify', 'ci/ecdsa', '-s', p('ci.sig'), '-f', p('release.tar')]));
    ok(await spike(['key', 'retire', 'ci/ecdsa', '--versions', '1,2']));
    const retired = await spike(['sign', 'ci/ecdsa', '-f', p('release.tar')]);
    assert.equal(retired.code, 1);
    assert.match(retired.stderr, /newest version is retired/);
    assert.equal((await spike(['verify', 'ci/ecdsa', '-s', p('ci.sig'), '-f', p('release.tar')])).code, 1);
    const list = ok(await spike(['key', 'list'])).stdout;
    assert.match(list, /ci\/ecdsa\tecdsa-p384\tsign\tv2/);
    assert.match(list, /release\/pgp\topenpgp-ed25519\tsign\tv1/);
  });

  it('backup keys: gpg --encrypt and openssl RSA-OAEP ciphertexts decrypt through spike key decrypt', async () => {
    ok(
      await spike([
        'key',
        'create',
        'backup/pgp',
        '-a',
        'openpgp-cv25519',
        '--user-id',
        'Backups <bk@example.org>',
      ]),
    );
    ok(await spike(['key', 'public', 'backup/pgp', '-o', p('bk.asc')]));
    assert.equal(gpg(['--import', p('bk.asc')]).status, 0);
    const enc = gpg(
      ['--trust-model', 'always', '--armor', '--encrypt', '-r', 'bk@example.org', '--output', p('db.asc')],
      'database dump',
    );
    assert.equal(enc.status, 0, enc.stderr.toString());
    assert.equal(
      ok(await spike(['key', 'decrypt', 'backup/pgp', '-f', p('db.asc')])).stdout,
      'database dump',
    );
    gpg(
      ['--trust-model', 'always', '--encrypt', '-r', 'bk@example.org', '--output', p('db.gpg')],
      'binary dump',
    );
    ok(await spike(['key', 'decrypt', 'backup/pgp', '-f', p('db.gpg'), '-o', p('db.out')]));
    assert.equal(readFileSync(p('db.out'), 'utf8'), 'binary dump');

    ok(await spike(['key', 'create', 'backup/rsa', '-a', 'rsa-oaep-4096']));
    ok(await spike(['key', 'public', 'backup/rsa', '-o', p('rsa.pem')]));
    writeFileSync(p('dek'), 'a 32-byte data encryption key...');
    const o = spawnSync('openssl', [
      'pkeyutl',
      '-encrypt',
      '-pubin',
      '-inkey',
      p('rsa.pem'),
      '-pkeyopt',
      'rsa_padding_mode:oaep',
      '-pkeyopt',
      'rsa_oaep_md:sha256',
      '-pkeyopt',
      'rsa_mgf1_md:sha256',
      '-in',
      p('dek'),
      '-out',
      p('dek.enc'),
    ]);
    assert.equal(o.status, 0, o.stderr.toString());
    assert.equal(
      ok(await spike(['key', 'decrypt', 'backup/rsa', '-f', p('dek.enc')])).stdout,
      'a 32-byte data encryption key...',
    );
    const wrong = await spike(['key', 'decrypt', 'backup/rsa', '-f', p('release.tar')]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /Decryption failed/);
  });

  it('keys never show up as secrets, and errors say what to do', async () => {
    const secrets = ok(await spike(['secret', 'list'])).stdout;
    assert.doesNotMatch(secrets, /spike:keys|release\/pgp/);
    const unknown = await spike(['key', 'public', 'nope']);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /Key 'nope' not found/);
    const alg = await spike(['key', 'create', 'x', '-a', 'dsa']);
    assert.equal(alg.code, 1);
    assert.match(alg.stderr, /Unknown algorithm 'dsa'. Use one of: ed25519/);
    const sameName = await spike(['key', 'create', 'release/pgp', '-a', 'ed25519']);
    assert.equal(sameName.code, 1);
    assert.match(sameName.stderr, /exists already/);
    const signBackup = await spike(['sign', 'backup/rsa', '-f', p('release.tar')]);
    assert.match(signBackup.stderr, /backup \(decryption\) key/);
    const stranger = await spike(['sign', 'release/pgp', '-f', p('release.tar')], undefined, 'stranger');
    assert.equal(stranger.code, 4);
    const help = ok(await spike(['key', '--help'])).stdout;
    for (const c of ['create', 'rotate', 'retire', 'list', 'public', 'decrypt'])
      assert.match(help, new RegExp(c));
    assert.match(ok(await spike(['sign', '--help'])).stdout, /--binary/);
    assert.match(ok(await spike(['verify', '--help'])).stdout, /--signature/);
  });
});
