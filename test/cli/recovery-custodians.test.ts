/**
 * Recovery shares for named custodians (ADR 0041) with real processes and the real `gpg`: three
 * custodians each make a key in their own GNUPGHOME (batch mode), `spike operator recover
 * --pgp-keys` encrypts one share to each (nothing in plaintext), each custodian decrypts only
 * their own file with `gpg --decrypt`, and after Nexus and every keeper are lost two decrypted
 * shares restore Nexus through `spike operator restore`. Bad custodian keys (expired, revoked,
 * sign-only, private, malformed armor, two in one file, the same twice, too few) are refused
 * before anything is asked of Nexus, and nothing is written.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Drill } from '../drills/drill-kit.ts';

interface Custodian {
  readonly home: string;
  readonly email: string;
  /** Armored public key file. */
  readonly pub: string;
}

function gpg(home: string, args: string[], input?: string): string {
  return execFileSync(
    'gpg',
    ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
    {
      env: { ...process.env, GNUPGHOME: home },
      input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
}

/** A key with an encryption subkey (`future-default`: Ed25519 + Curve25519), or as `spec` says. */
async function makeKey(
  root: string,
  name: string,
  spec: { algo?: string; usage?: string; expire?: string; fakedTime?: string } = {},
): Promise<Custodian> {
  const home = await mkdtemp(join(root, `${name}-`));
  const email = `${name}@custodians.example`;
  gpg(home, [
    ...(spec.fakedTime === undefined ? [] : ['--faked-system-time', spec.fakedTime]),
    '--quick-gen-key',
    `${name} <${email}>`,
    spec.algo ?? 'future-default',
    spec.usage ?? 'default',
    spec.expire ?? 'never',
  ]);
  const pub = join(root, `${name}.asc`);
  await writeFile(pub, gpg(home, ['--armor', '--export', email]));
  return { home, email, pub };
}

describe('recovery shares for named custodians (real processes, real gpg)', () => {
  let drill: Drill;
  let root: string;
  let custodians: Custodian[];
  const homes: string[] = [];

  const recover = (keys: string[]) =>
    drill.stack.runSpike('pilot-recover', ['operator', 'recover', '--pgp-keys', keys.join(',')]);
  const restore = (text: string) => drill.stack.runSpike('pilot-restore', ['operator', 'restore'], text);
  const recoveryFiles = async (): Promise<string[]> => {
    try {
      return (await readdir(drill.stack.recoveryDir)).sort();
    } catch {
      return [];
    }
  };

  before(async () => {
    root = await mkdtemp('/tmp/spx-gpg-');
    custodians = [];
    for (const name of ['alice', 'bob', 'carol']) custodians.push(await makeKey(root, name));
    homes.push(...custodians.map((c) => c.home));
    drill = await Drill.start();
  });
  after(async () => {
    await drill?.close();
    for (const home of homes)
      spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home } });
    await rm(root, { recursive: true, force: true });
  });

  it('refuses bad custodian keys before asking Nexus, naming the file and the reason; writes nothing', async () => {
    const expired = await makeKey(root, 'expired', { expire: '1d', fakedTime: '20200101T000000' });
    const signOnly = await makeKey(root, 'signer', { algo: 'ed25519', usage: 'sign' });
    const revoked = await makeKey(root, 'revoked');
    const revs = await readdir(join(revoked.home, 'openpgp-revocs.d'));
    const cert = (await readFile(join(revoked.home, 'openpgp-revocs.d', revs[0] as string), 'utf8')).replace(
      /^:-----BEGIN/m,
      '-----BEGIN',
    );
    gpg(revoked.home, ['--import'], cert);
    await writeFile(revoked.pub, gpg(revoked.home, ['--armor', '--export', revoked.email]));
    const secret = join(root, 'alice-secret.asc');
    await writeFile(
      secret,
      gpg(custodians[0]!.home, ['--armor', '--export-secret-keys', custodians[0]!.email]),
    );
    const alicePub = await readFile(custodians[0]!.pub, 'utf8');
    const malformed = join(root, 'malformed.asc');
    const lines = alicePub.split('\n');
    lines[3] = `${(lines[3] ?? '').slice(0, 10)}!!${(lines[3] ?? '').slice(12)}`;
    await writeFile(malformed, lines.join('\n'));
    const notArmored = join(root, 'binary.gpg');
    await writeFile(
      notArmored,
      execFileSync('gpg', ['--batch', '--export', custodians[1]!.email], {
        env: { ...process.env, GNUPGHOME: custodians[1]!.home },
      }),
    );
    const two = join(root, 'two.asc');
    await writeFile(two, gpg(custodians[1]!.home, ['--armor', '--export', custodians[1]!.email]) + alicePub);
    homes.push(expired.home, signOnly.home, revoked.home);

    const [a, b, c] = custodians.map((x) => x.pub) as [string, string, string];
    const cases: [string[], RegExp][] = [
      [[a, b, expired.pub], /expired\.asc \([0-9A-F]{40}\) expired on 2020-01-02/],
      [[a, revoked.pub, c], /revoked\.asc \([0-9A-F]{40}\) is revoked/],
      [[signOnly.pub, b, c], /signer\.asc \([0-9A-F]{40}\) has no valid encryption key: it can only sign/],
      [[a, b, secret], /alice-secret\.asc is a private \(secret\) key\. Give the custodian's public key/],
      [[malformed, b, c], /malformed\.asc is not a valid armored OpenPGP public key/],
      [[a, notArmored, c], /binary\.gpg is not an armored OpenPGP public key/],
      [[a, two, c], /two\.asc holds 2 keys; give one custodian key per file/],
      [[a, b, a], /alice\.asc is the same key as .*alice\.asc .*each share must go to a different custodian/],
      [[a, b, join(root, 'missing.asc')], /Cannot read the custodian key file .*missing\.asc \(ENOENT\)/],
    ];
    for (const [keys, message] of cases) {
      const res = await recover(keys);
      assert.equal(res.code, 1, `${String(message)}: exit ${String(res.code)}\n${res.stderr}`);
      assert.match(res.stderr, message);
      assert.match(res.stderr, /Nothing was asked of SPIKE Nexus and nothing was written/);
      assert.deepEqual(await recoveryFiles(), [], 'nothing written');
    }
    assert.ok(!drill.stack.readLog('nexus').includes('PRIVATE KEY'), 'the private key went nowhere');

    // Fewer keys than shares: says how many are needed; nothing written.
    const few = await recover([a, b]);
    assert.equal(few.code, 2, few.stderr);
    assert.match(
      few.stderr,
      /SPIKE Nexus has 3 recovery shares: give exactly 3 custodian keys with --pgp-keys, one per share \(got 2\)/,
    );
    assert.deepEqual(await recoveryFiles(), []);
    const empty = await recover([a, '', c]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /comma-separated list/);
  });

  it('encrypts each share to one custodian; only that custodian decrypts it with gpg; two restore a lost Nexus', async () => {
    const before = await drill.snapshot();
    const res = await recover(custodians.map((c) => c.pub));
    assert.equal(res.code, 0, res.stderr);
    const names = await recoveryFiles();
    assert.deepEqual(names, ['spike.recovery.1.asc', 'spike.recovery.2.asc', 'spike.recovery.3.asc']);
    for (const [i, c] of custodians.entries())
      assert.match(res.stderr, new RegExp(`spike\\.recovery\\.${String(i + 1)}\\.asc .*${c.email}`));

    const decrypted: string[] = [];
    for (const [i, name] of names.entries()) {
      const file = join(drill.stack.recoveryDir, name);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const text = await readFile(file, 'utf8');
      assert.match(text, /^-----BEGIN PGP MESSAGE-----/);
      assert.ok(!/spike:\d+:[0-9a-f]{64}/.test(text), 'no share in plaintext');
      const own = custodians[i] as Custodian;
      const share = gpg(own.home, ['--decrypt', file]);
      assert.match(share, new RegExp(`^spike:${String(i + 1)}:[0-9a-f]{64}$`));
      decrypted.push(share);
      // Another custodian's key does not open it.
      const other = custodians[(i + 1) % custodians.length] as Custodian;
      assert.throws(() => gpg(other.home, ['--decrypt', file]), /decryption failed|No secret key/);
    }
    // The shares are the root key's: the same ones plain recovery writes would hold.
    const hint = await restore(await readFile(join(drill.stack.recoveryDir, names[0] as string), 'utf8'));
    assert.equal(hint.code, 1);
    assert.match(hint.stderr, /still encrypted.*gpg --decrypt/);

    // Nexus and every keeper lost; the database stays. Two custodians decrypt and restore.
    const { stack } = drill;
    await stack.killNexus();
    await Promise.all([0, 1, 2].map((i) => stack.killKeeper(i)));
    await stack.startKeepers();
    await drill.startNexus();
    assert.equal(await stack.nexusState(), 'not-ready');
    const first = await restore(decrypted[0] as string);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /Shards collected: 1, remaining: 1/);
    const second = await restore(decrypted[2] as string);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /SPIKE is now restored and ready to use/);
    await drill.waitReady();
    assert.deepEqual(await drill.snapshot(), before);
  });
});
