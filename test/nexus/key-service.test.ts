/**
 * Named keys against a real store, checked with the real `openssl` and `gpg` command-line tools
 * (a throwaway GNUPGHOME in batch mode), not only with our own code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '@spike-ts/core';
import { createMemoryStore, createSqliteStore } from '@spike-ts/store';
import { KEY_NAMESPACE, KeyService } from '@spike-ts/nexus';
import type { KeyApprovalHook } from '@spike-ts/nexus';

const MAX = 4096;
let dir: string;
let gnupg: string;
const file = (name: string, data: string | Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};
const openssl = (args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' });
const gpg = (args: string[], input?: string | Uint8Array) =>
  spawnSync('gpg', ['--batch', '--homedir', gnupg, '--no-tty', ...args], {
    ...(input === undefined ? {} : { input }),
  });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spx-keys-'));
  gnupg = mkdtempSync(join(tmpdir(), 'spx-gpg-'));
});
after(() => {
  spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'all']);
  rmSync(dir, { recursive: true, force: true });
  rmSync(gnupg, { recursive: true, force: true });
});

const service = (approvals?: KeyApprovalHook) =>
  new KeyService({
    store: createMemoryStore(),
    now: () => 1_700_000_000_000,
    maxPayload: MAX,
    ...(approvals ? { approvals } : {}),
  });

const message = new TextEncoder().encode('release 1.2.3 sha256 abc\n');

describe('signing keys, verified by openssl', () => {
  const cases: [string, (pub: string, sig: string, msg: string) => string[]][] = [
    [
      'ed25519',
      (pub, sig, msg) => [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        pub,
        '-rawin',
        '-in',
        msg,
        '-sigfile',
        sig,
      ],
    ],
    ['ecdsa-p256', (pub, sig, msg) => ['dgst', '-sha256', '-verify', pub, '-signature', sig, msg]],
    ['ecdsa-p384', (pub, sig, msg) => ['dgst', '-sha384', '-verify', pub, '-signature', sig, msg]],
    [
      'rsa-pss-3072',
      (pub, sig, msg) => [
        'dgst',
        '-sha256',
        '-sigopt',
        'rsa_padding_mode:pss',
        '-sigopt',
        'rsa_pss_saltlen:32',
        '-sigopt',
        'rsa_mgf1_md:sha256',
        '-verify',
        pub,
        '-signature',
        sig,
        msg,
      ],
    ],
  ];
  for (const [algorithm, verifyArgs] of cases) {
    it(`${algorithm}: openssl verifies the signature and refuses a changed message`, async () => {
      const keys = service();
      assert.equal(await keys.create(`ci/${algorithm}`, algorithm as never, undefined), 1);
      const { version, signature } = await keys.sign('spiffe://t/w', `ci/${algorithm}`, message);
      assert.equal(version, 1);
      const view = await keys.describe(`ci/${algorithm}`);
      const v1 = view.versions?.[0];
      assert.ok(v1?.publicKeyPem?.startsWith('-----BEGIN PUBLIC KEY-----'));
      assert.ok(v1?.publicKeyJwk?.['kty']);
      assert.equal(v1?.publicKeyArmored, null);
      const pub = file(`${algorithm}.pem`, v1.publicKeyPem ?? '');
      const sig = file(`${algorithm}.sig`, Buffer.from(signature, 'base64'));
      const good = openssl(verifyArgs(pub, sig, file(`${algorithm}.msg`, message)));
      assert.equal(good.status, 0, good.stderr);
      const bad = openssl(verifyArgs(pub, sig, file(`${algorithm}.bad`, 'release 1.2.4')));
      assert.notEqual(bad.status, 0);
      assert.deepEqual(await keys.verify(`ci/${algorithm}`, message, signature), { valid: true, version: 1 });
      assert.deepEqual(await keys.verify(`ci/${algorithm}`, new Uint8Array([1]), signature), {
        valid: false,
        version: 0,
      });
    });
  }

  it('rsa-pss-4096 signs with a 4096-bit key', async () => {
    const keys = service();
    await keys.create('big', 'rsa-pss-4096', undefined);
    const jwk = (await keys.describe('big')).versions?.[0]?.publicKeyJwk;
    assert.equal(Buffer.from(jwk?.['n'] ?? '', 'base64url').length, 512);
    const { signature } = await keys.sign('p', 'big', message);
    assert.equal((await keys.verify('big', message, signature)).valid, true);
  });
});

describe('OpenPGP keys, checked by gpg', () => {
  it('gpg --verify accepts the detached armored signature and refuses a changed file', async () => {
    const keys = service();
    await keys.create('release/pgp', 'openpgp-ed25519', 'Release Signing <release@example.org>');
    const view = await keys.describe('release/pgp');
    const armored = view.versions?.[0]?.publicKeyArmored ?? '';
    assert.match(armored, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    assert.equal(gpg(['--import'], armored).status, 0);
    const { signature } = await keys.sign('p', 'release/pgp', message);
    assert.match(signature, /^-----BEGIN PGP SIGNATURE-----/);
    const ok = gpg(['--status-fd', '1', '--verify', file('r.asc', signature), file('r.txt', message)]);
    assert.equal(ok.status, 0, ok.stderr.toString());
    assert.match(
      ok.stdout.toString(),
      new RegExp(`VALIDSIG ${view.versions?.[0]?.fingerprint?.toUpperCase()}`),
    );
    assert.match(ok.stdout.toString(), /GOODSIG .* Release Signing <release@example.org>/);
    assert.notEqual(gpg(['--verify', file('r2.asc', signature), file('r2.txt', 'changed')]).status, 0);
    assert.deepEqual(await keys.verify('release/pgp', message, signature), { valid: true, version: 1 });
    assert.equal((await keys.verify('release/pgp', new Uint8Array([7]), signature)).valid, false);
  });

  it('a signing OpenPGP key has no encryption subkey: gpg cannot encrypt to it', async () => {
    const keys = service();
    await keys.create('sign-only', 'openpgp-ed25519', 'Sign Only <s@example.org>');
    const armored = (await keys.describe('sign-only')).versions?.[0]?.publicKeyArmored ?? '';
    assert.equal(gpg(['--import'], armored).status, 0);
    const r = gpg(
      ['--trust-model', 'always', '--encrypt', '--recipient', 's@example.org', '--output', '-'],
      'x',
    );
    assert.notEqual(r.status, 0);
  });

  it('what gpg --encrypt made for the exported backup key decrypts through the service, armored or binary', async () => {
    const keys = service();
    await keys.create('backup/pgp', 'openpgp-cv25519', 'Backups <backup@example.org>');
    const armored = (await keys.describe('backup/pgp')).versions?.[0]?.publicKeyArmored ?? '';
    assert.equal(gpg(['--import'], armored).status, 0);
    const secret = randomBytes(1000);
    const enc = gpg(
      [
        '--trust-model',
        'always',
        '--armor',
        '--encrypt',
        '--recipient',
        'backup@example.org',
        '--output',
        '-',
      ],
      secret,
    );
    assert.equal(enc.status, 0, enc.stderr.toString());
    const out = await keys.decrypt('p', 'backup/pgp', enc.stdout.toString());
    assert.equal(out.version, 1);
    assert.deepEqual(Buffer.from(out.plaintext), Buffer.from(secret));
    const bin = gpg(
      ['--trust-model', 'always', '--encrypt', '--recipient', 'backup@example.org', '--output', '-'],
      secret,
    );
    const out2 = await keys.decrypt('p', 'backup/pgp', bin.stdout.toString('base64'));
    assert.deepEqual(Buffer.from(out2.plaintext), Buffer.from(secret));
  });

  it('refuses a plaintext over the limit even when the compressed message is small', async () => {
    const keys = service();
    await keys.create('backup/bomb', 'openpgp-cv25519', 'Bomb <bomb@example.org>');
    const armored = (await keys.describe('backup/bomb')).versions?.[0]?.publicKeyArmored ?? '';
    gpg(['--import'], armored);
    const enc = gpg(
      [
        '--trust-model',
        'always',
        '--compress-algo',
        'zlib',
        '--encrypt',
        '--recipient',
        'bomb@example.org',
        '--output',
        '-',
      ],
      new Uint8Array(MAX * 50),
    );
    assert.ok(enc.stdout.length < MAX);
    await assert.rejects(
      keys.decrypt('p', 'backup/bomb', enc.stdout.toString('base64')),
      /larger than the cipher size limit/,
    );
  });
});

describe('RSA-OAEP backup keys', () => {
  it('decrypts what openssl pkeyutl encrypted to the exported PEM (the documented format)', async () => {
    const keys = service();
    await keys.create('backup/rsa', 'rsa-oaep-3072', undefined);
    const pem = (await keys.describe('backup/rsa')).versions?.[0]?.publicKeyPem ?? '';
    const secret = randomBytes(190);
    const out = file('oaep.bin', '');
    const r = openssl([
      'pkeyutl',
      '-encrypt',
      '-pubin',
      '-inkey',
      file('oaep.pem', pem),
      '-in',
      file('oaep.in', secret),
      '-out',
      out,
      '-pkeyopt',
      'rsa_padding_mode:oaep',
      '-pkeyopt',
      'rsa_oaep_md:sha256',
      '-pkeyopt',
      'rsa_mgf1_md:sha256',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const plain = await keys.decrypt('p', 'backup/rsa', readFileSync(out).toString('base64'));
    assert.deepEqual(Buffer.from(plain.plaintext), Buffer.from(secret));
    await assert.rejects(
      keys.decrypt('p', 'backup/rsa', Buffer.alloc(384, 1).toString('base64')),
      /does not decrypt/,
    );
  });
});

describe('versions, rotation and retirement', () => {
  it('signs with the newest, verifies with any version not retired, refuses a retired newest version', async () => {
    const keys = service();
    await keys.create('rot', 'ed25519', undefined);
    const s1 = await keys.sign('p', 'rot', message);
    assert.equal(await keys.rotate('rot'), 2);
    const s2 = await keys.sign('p', 'rot', message);
    assert.equal(s2.version, 2);
    assert.deepEqual(await keys.verify('rot', message, s1.signature), { valid: true, version: 1 });
    await keys.retire('rot', [1]);
    assert.deepEqual(await keys.verify('rot', message, s1.signature), { valid: false, version: 0 });
    assert.deepEqual(await keys.verify('rot', message, s2.signature), { valid: true, version: 2 });
    const view = await keys.describe('rot');
    assert.equal(view.versions?.length, 2);
    assert.ok(view.versions?.[0]?.retiredTime);
    assert.equal(view.versions?.[1]?.retiredTime, null);
    await keys.retire('rot', [2]);
    await assert.rejects(keys.sign('p', 'rot', message), /retired; rotate the key/);
    assert.equal(await keys.rotate('rot'), 3);
    assert.equal((await keys.sign('p', 'rot', message)).version, 3);
    await assert.rejects(keys.retire('rot', [9]), /no version 9/);
    assert.deepEqual(await keys.list(), [
      { name: 'rot', algorithm: 'ed25519', purpose: 'sign', latestVersion: 3 },
    ]);
  });

  it('rotated OpenPGP backup keys decrypt messages to older versions until retired', async () => {
    const keys = service();
    await keys.create('bk', 'openpgp-cv25519', 'BK <bk@example.org>');
    const v1 = (await keys.describe('bk')).versions?.[0]?.publicKeyArmored ?? '';
    gpg(['--import'], v1);
    const enc = gpg(
      ['--trust-model', 'always', '--armor', '--encrypt', '--recipient', 'bk@example.org', '--output', '-'],
      'old',
    );
    assert.equal(enc.status, 0, enc.stderr.toString());
    await keys.rotate('bk');
    assert.equal((await keys.decrypt('p', 'bk', enc.stdout.toString())).version, 1);
    await keys.retire('bk', [1]);
    await assert.rejects(keys.decrypt('p', 'bk', enc.stdout.toString()), /does not decrypt/);
  });
});

describe('bad input', () => {
  it('refuses unknown keys, wrong purposes, malformed signatures and armor, oversized payloads, duplicates', async () => {
    const keys = service();
    await keys.create('s', 'ed25519', undefined);
    await keys.create('pg', 'openpgp-ed25519', undefined);
    await keys.create('d', 'rsa-oaep-3072', undefined);
    await keys.create('dp', 'openpgp-cv25519', undefined);
    await assert.rejects(keys.sign('p', 'nope', message), { code: 'api_not_found' });
    await assert.rejects(keys.describe('nope'), { code: 'api_not_found' });
    await assert.rejects(keys.rotate('nope'), { code: 'api_not_found' });
    await assert.rejects(keys.create('s', 'ed25519', undefined), /exists already/);
    await assert.rejects(keys.create('u', 'ed25519', 'A <a@b>'), /only OpenPGP keys/);
    await assert.rejects(keys.sign('p', 'd', message), /it decrypts, it does not sign/);
    await assert.rejects(keys.verify('d', message, 'AAAA'), /does not verify/);
    await assert.rejects(keys.decrypt('p', 's', 'AAAA'), /it signs, it does not decrypt/);
    await assert.rejects(keys.sign('p', 's', new Uint8Array(MAX + 1)), { code: 'api_bad_request' });
    await assert.rejects(keys.verify('s', new Uint8Array(MAX + 1), 'AAAA'), { code: 'api_bad_request' });
    await assert.rejects(keys.verify('s', message, 'not base64!'), /standard base64/);
    await assert.rejects(
      keys.verify('pg', message, '-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----'),
      /armored OpenPGP signature/,
    );
    await assert.rejects(
      keys.decrypt('p', 'dp', '-----BEGIN PGP MESSAGE-----\n\ngarbage\n-----END PGP MESSAGE-----'),
      /well-formed/,
    );
    await assert.rejects(keys.decrypt('p', 'dp', 'bm90IHBncA=='), /well-formed/);
    await assert.rejects(keys.decrypt('p', 'd', '***'), /base64/);
    await assert.rejects(keys.retire('s', []), /at least one/);
  });

  it('asks the approval hook right before a private key is used', async () => {
    const asked: string[] = [];
    const keys = service({
      required: (name) => name === 'gated',
      check: (caller, name, op) => {
        asked.push(`${caller} ${name} ${op}`);
        return name === 'gated' ? Promise.reject(new Error('approval required')) : Promise.resolve();
      },
    });
    await keys.create('gated', 'ed25519', undefined);
    await keys.create('free', 'ed25519', undefined);
    assert.equal((await keys.describe('gated')).approvalRequired, true);
    assert.equal((await keys.describe('free')).approvalRequired, false);
    await assert.rejects(keys.sign('w', 'gated', message), /approval required/);
    await keys.sign('w', 'free', message);
    assert.deepEqual(asked, ['w gated sign', 'w free sign']);
  });
});

describe('at rest', () => {
  it('the SQLite file holds no private key in plaintext and keys survive a reopen', async () => {
    const data = mkdtempSync(join(tmpdir(), 'spx-keys-db-'));
    try {
      const root = randomBytes(32);
      const store = createSqliteStore({ dataDir: data });
      await store.unlock(new Uint8Array(root));
      const keys = new KeyService({ store, now: Date.now, maxPayload: MAX });
      await keys.create('rest', 'ed25519', undefined);
      await keys.create('rest-pgp', 'openpgp-cv25519', undefined);
      const rec = await store.getSecret(`${KEY_NAMESPACE}rest`);
      const pkcs8 = rec?.versions[0]?.data['privateKey'] ?? '';
      const pgp = (await store.getSecret(`${KEY_NAMESPACE}rest-pgp`))?.versions[0]?.data['privateKey'] ?? '';
      assert.match(pkcs8, /BEGIN PRIVATE KEY/);
      const sig = await keys.sign('p', 'rest', message);
      await store.close();
      const body = pkcs8.split('\n')[1] ?? '';
      const pgpLine = pgp.split('\n').find((l) => l.length > 40) ?? '';
      assert.ok(body.length > 20 && pgpLine.length > 20, `${body.length} ${pgpLine.length} ${pgp.length}`);
      for (const f of readdirSync(data)) {
        const bytes = readFileSync(join(data, f));
        for (const needle of [body, pgpLine, 'PRIVATE KEY', 'PGP PRIVATE', 'spike:keys']) {
          assert.equal(bytes.includes(Buffer.from(needle)), false, `${f} holds ${needle.slice(0, 12)}…`);
        }
        const der = Buffer.from(body, 'base64');
        assert.equal(bytes.includes(der.subarray(16)), false);
      }
      const again = createSqliteStore({ dataDir: data });
      await again.unlock(new Uint8Array(root));
      const keys2 = new KeyService({ store: again, now: Date.now, maxPayload: MAX });
      assert.equal((await keys2.verify('rest', message, sig.signature)).valid, true);
      await again.close();
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});
