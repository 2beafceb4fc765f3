/**
 * The real `spike` binary (child process, Node 24) against a fake Nexus over mTLS, with SVIDs
 * from a dev identity issuer: policy, cipher, operator, completion and version commands.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startFakeNexus } from '@spike-ts/sdk/testing';
import type { FakeNexus } from '@spike-ts/sdk/testing';
import { ok, runSpike, SPIKE_BIN, startIdentityLab } from './cli-harness.ts';
import type { IdentityLab } from './cli-harness.ts';

interface PolicyDoc {
  spiffeidPattern: string;
  pathPattern: string;
  permissions: string[];
}
interface CipherDoc {
  version: number;
  nonce: string;
  ciphertext: string;
}
const policyDoc = (text: string): PolicyDoc => JSON.parse(text) as PolicyDoc;
const cipherDoc = (text: string): CipherDoc => JSON.parse(text) as CipherDoc;

const shard = (seed: number): number[] => Array.from({ length: 32 }, (_, i) => (seed * 29 + i * 7) & 0xff);
const hex = (bytes: number[]): string => Buffer.from(bytes).toString('hex');

describe('spike policy, cipher, operator (binary)', () => {
  let lab: IdentityLab;
  let fake: FakeNexus;
  const spike = (
    args: string[],
    identity = 'pilot',
    input?: string | Buffer,
    extra: Record<string, string> = {},
  ) => runSpike(args, { env: lab.env(identity, fake.url, extra), ...(input === undefined ? {} : { input }) });

  before(async () => {
    lab = await startIdentityLab();
    fake = await startFakeNexus({
      ...(await lab.nexusTls()),
      shards: { '1': shard(1), '2': shard(2), '3': shard(3) },
    });
  });
  after(async () => {
    await fake?.close();
    await lab?.close();
  });

  describe('policy', () => {
    const flags = [
      '--name',
      'workload-can-read',
      '--spiffeid-pattern',
      '^spiffe://spike\\.ist/workload/.*$',
      '--path-pattern',
      '^tenants/demo/db/.*$',
      '--permissions',
      'read,list',
    ];

    it('create, then create again fails; list and get in every format', async () => {
      assert.match(ok(await spike(['policy', 'create', ...flags])).stderr, /created successfully/);
      const again = await spike(['policy', 'create', ...flags]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /Policy 'workload-can-read' already exists/);
      assert.match(ok(await spike(['policy', 'list'])).stdout, /Name: workload-can-read/);
      assert.deepEqual(JSON.parse(ok(await spike(['policy', 'list', '-f', 'json'])).stdout), [
        { id: '', name: 'workload-can-read' },
      ]);
      assert.deepEqual(parseYaml(ok(await spike(['policy', 'list', '-f', 'yaml'])).stdout), [
        { id: '', name: 'workload-can-read' },
      ]);
      const filtered = ok(await spike(['policy', 'list', '--path-pattern', '^nope$', '-f', 'json'])).stdout;
      assert.deepEqual(JSON.parse(filtered), []);
      const human = ok(await spike(['policy', 'get', 'workload-can-read'])).stdout;
      assert.match(human, /POLICY DETAILS/);
      assert.match(human, /SPIFFE ID Pattern: \^spiffe:\/\/spike\\\.ist\/workload\/\.\*\$/);
      assert.match(human, /Permissions: +read, list/);
      const json = policyDoc(
        ok(await spike(['policy', 'get', '--name', 'workload-can-read', '-f', 'json'])).stdout,
      );
      assert.equal(json.spiffeidPattern, '^spiffe://spike\\.ist/workload/.*$');
      assert.deepEqual(json.permissions, ['read', 'list']);
      const yaml = parseYaml(
        ok(await spike(['policy', 'get', 'workload-can-read', '-f', 'yaml'])).stdout,
      ) as { pathpattern: string };
      assert.equal(yaml.pathpattern, '^tenants/demo/db/.*$');
    });

    it('apply from a YAML file and from a JSON file (upsert)', async () => {
      const yamlFile = join(lab.dir, 'p.yaml');
      await writeFile(
        yamlFile,
        "name: yaml-policy\nspiffeidPattern: '^spiffe://spike\\.ist/app$'\npathPattern: ^app/.*$\npermissions:\n  - read\n  - write\n",
      );
      assert.match(
        ok(await spike(['policy', 'apply', '--file', yamlFile])).stderr,
        /Policy 'yaml-policy' applied/,
      );
      const jsonFile = join(lab.dir, 'p.json');
      const doc = {
        name: 'yaml-policy',
        spiffeidPattern: '^spiffe://spike\\.ist/app$',
        pathPattern: '^app/x$',
        permissions: ['execute'],
      };
      await writeFile(jsonFile, JSON.stringify(doc));
      ok(await spike(['policy', 'apply', '--file', jsonFile]));
      const got = policyDoc(ok(await spike(['policy', 'get', 'yaml-policy', '-f', 'json'])).stdout);
      assert.equal(got.pathPattern, '^app/x$');
      assert.deepEqual(got.permissions, ['execute']);
      ok(await spike(['policy', 'apply', ...flags.slice(0, 6), '--permissions', 'super']));
    });

    it('rejects bad policy input naming the field', async () => {
      const bad = await spike(['policy', 'create', ...flags.slice(0, 6), '--permissions', 'read,fly']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /Invalid permission 'fly' \(--permissions\)/);
      const missing = await spike(['policy', 'create', '--name', 'x']);
      assert.equal(missing.code, 2, 'a missing required option is a usage error');
      assert.match(
        missing.stderr,
        /Missing required option\(s\): --spiffeid-pattern, --path-pattern, --permissions/,
      );
      const file = join(lab.dir, 'bad.yaml');
      await writeFile(file, 'name: x\npathPattern: ^a$\npermissions: [read]\n');
      const fromFile = await spike(['policy', 'apply', '--file', file]);
      assert.equal(fromFile.code, 1);
      assert.match(fromFile.stderr, /Policy spiffeidPattern is required/);
      const both = await spike(['policy', 'list', '--path-pattern', 'a', '--spiffeid-pattern', 'b']);
      assert.equal(both.code, 2);
    });

    it('delete refuses to prompt without a TTY, deletes with --yes, then not found', async () => {
      const refused = await spike(['policy', 'delete', 'yaml-policy']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /not a terminal\. Re-run with --yes/);
      assert.match(ok(await spike(['policy', 'get', 'yaml-policy'])).stdout, /yaml-policy/);
      ok(await spike(['policy', 'delete', 'yaml-policy', '--yes']));
      const gone = await spike(['policy', 'get', 'yaml-policy']);
      assert.equal(gone.code, 3);
      assert.match(gone.stderr, /Policy 'yaml-policy' not found\./);
      assert.equal((await spike(['policy', 'delete', '--name', 'yaml-policy', '--yes'])).code, 3);
    });
  });

  describe('cipher', () => {
    const plaintext = Buffer.from([0, 1, 2, 3, 0xfe, 0xff, 0x0a, 0x7b]);

    it('stream mode round trip through stdin/stdout and through files', async () => {
      const enc = ok(await spike(['cipher', 'encrypt'], 'pilot', plaintext));
      assert.equal(enc.stdoutBytes[0], 1);
      assert.equal(enc.stdoutBytes.byteLength, 1 + 12 + plaintext.byteLength + 16);
      const dec = ok(await spike(['cipher', 'decrypt'], 'pilot', enc.stdoutBytes));
      assert.deepEqual(dec.stdoutBytes, plaintext);
      const inFile = join(lab.dir, 'plain.bin');
      const encFile = join(lab.dir, 'enc.bin');
      const outFile = join(lab.dir, 'out.bin');
      await writeFile(inFile, plaintext);
      ok(await spike(['cipher', 'encrypt', '-f', inFile, '-o', encFile]));
      ok(await spike(['cipher', 'decrypt', '--file', encFile, '--out', outFile]));
      assert.deepEqual(await readFile(outFile), plaintext);
      assert.equal((await lstat(outFile)).mode & 0o777, 0o600);
    });

    it('JSON mode: encrypt prints {version, nonce, ciphertext} that decrypt reads back', async () => {
      const enc = ok(await spike(['cipher', 'encrypt', '--plaintext', plaintext.toString('base64')]));
      const doc = cipherDoc(enc.stdout);
      assert.equal(doc.version, 1);
      assert.equal(Buffer.from(doc.nonce, 'base64').byteLength, 12);
      const docFile = join(lab.dir, 'enc.json');
      await writeFile(docFile, enc.stdout);
      assert.deepEqual(ok(await spike(['cipher', 'decrypt', '--file', docFile])).stdoutBytes, plaintext);
      assert.deepEqual(ok(await spike(['cipher', 'decrypt'], 'pilot', enc.stdout)).stdoutBytes, plaintext);
      const viaFlags = await spike([
        'cipher',
        'decrypt',
        '--version',
        '1',
        '--nonce',
        doc.nonce,
        '--ciphertext',
        doc.ciphertext,
      ]);
      assert.deepEqual(ok(viaFlags).stdoutBytes, plaintext);
      const viaJsonFlag = cipherDoc(
        ok(await spike(['cipher', 'encrypt', '--json'], 'pilot', plaintext)).stdout,
      );
      assert.equal(viaJsonFlag.version, 1);
    });

    it('a tampered ciphertext fails with a clear message and non-zero exit', async () => {
      const enc = cipherDoc(ok(await spike(['cipher', 'encrypt', '--plaintext', 'aGk='])).stdout);
      const ct = Buffer.from(enc.ciphertext, 'base64');
      ct[0] = ct[0]! ^ 1;
      const run = await spike([
        'cipher',
        'decrypt',
        '--nonce',
        enc.nonce,
        '--ciphertext',
        ct.toString('base64'),
      ]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /Decryption failed/);
      const badNonce = await spike(['cipher', 'decrypt', '--nonce', 'AAAA', '--ciphertext', enc.ciphertext]);
      assert.equal(badNonce.code, 1);
      assert.match(badNonce.stderr, /Invalid --nonce/);
      const notB64 = await spike(['cipher', 'encrypt', '--plaintext', '***']);
      assert.equal(notB64.code, 1);
      assert.match(notB64.stderr, /Invalid --plaintext/);
    });
  });

  describe('operator', () => {
    it('recover writes spike.recovery.<i>.txt (0600) in a 0700 dir and says what to do', async () => {
      const parent = join(lab.dir, 'rec');
      const run = ok(
        await spike(['operator', 'recover'], 'pilot-recover', undefined, {
          SPIKE_PILOT_RECOVERY_DIR: parent,
        }),
      );
      const dir = join(parent, 'recover');
      assert.deepEqual((await readdir(dir)).sort(), [
        'spike.recovery.1.txt',
        'spike.recovery.2.txt',
        'spike.recovery.3.txt',
      ]);
      assert.equal((await lstat(dir)).mode & 0o777, 0o700);
      for (const i of [1, 2, 3]) {
        const file = join(dir, `spike.recovery.${i}.txt`);
        assert.equal((await lstat(file)).mode & 0o777, 0o600);
        const content = await readFile(file, 'utf8');
        assert.equal(content, `spike:${i}:${hex(shard(i))}`);
        assert.match(content, /^spike:\d+:[0-9a-f]{64}$/);
      }
      assert.match(run.stderr, /safe, separate, offline place/);
      assert.match(run.stderr, /delete them from this machine/);
      assert.doesNotMatch(run.stdout + run.stderr, new RegExp(hex(shard(1))), 'shares are not printed');
    });

    it('recover defaults to ~/.spike/recover and refuses an unsafe directory', async () => {
      ok(await spike(['operator', 'recover'], 'pilot-recover'));
      assert.equal((await readdir(join(lab.dir, 'home', '.spike', 'recover'))).length, 3);
      const open = join(lab.dir, 'open');
      await mkdir(join(open, 'recover'), { recursive: true });
      await chmod(join(open, 'recover'), 0o755);
      const run = await spike(['operator', 'recover'], 'pilot-recover', undefined, {
        SPIKE_PILOT_RECOVERY_DIR: open,
      });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /Refusing to write recovery files.*mode 0755/);
      assert.deepEqual(await readdir(join(open, 'recover')), []);
    });

    it('recover and restore need their roles', async () => {
      const run = await spike(['operator', 'recover']);
      assert.equal(run.code, 4);
      assert.match(
        run.stderr,
        /needs the SPIKE Pilot recover role, but this CLI's SVID is spiffe:\/\/spike\.ist\/spike\/pilot\/role\/superuser/,
      );
      assert.equal((await spike(['operator', 'restore'], 'pilot', `spike:1:${hex(shard(1))}`)).code, 4);
    });

    it('restore reads shares from stdin and reports progress, then restored', async () => {
      fake.ready = false;
      const first = ok(await spike(['operator', 'restore'], 'pilot-restore', `spike:1:${hex(shard(1))}\n`));
      assert.match(first.stderr, /Shards collected: 1, remaining: 1/);
      const second = ok(await spike(['operator', 'restore'], 'pilot-restore', `spike:2:${hex(shard(2))}`));
      assert.match(second.stderr, /SPIKE is now restored and ready to use\./);
      assert.equal(fake.ready, true);
    });

    it('restore rejects malformed or oversized input without echoing it', async () => {
      const bad = await spike(['operator', 'restore'], 'pilot-restore', `spike:1:${hex(shard(1)).slice(4)}`);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /exactly 64 hex characters/);
      assert.doesNotMatch(bad.stderr, new RegExp(hex(shard(1)).slice(4, 40)));
      const big = await spike(['operator', 'restore'], 'pilot-restore', 'x'.repeat(5000));
      assert.equal(big.code, 1);
      assert.match(big.stderr, /larger than 4096 bytes/);
      const empty = await spike(['operator', 'restore'], 'pilot-restore', '');
      assert.equal(empty.code, 1);
      assert.match(empty.stderr, /No recovery share/);
    });
  });

  it('completion prints scripts naming the commands; version prints the version', async () => {
    for (const shell of ['bash', 'zsh', 'fish']) {
      const run = ok(await runSpike(['completion', shell], { env: { PATH: process.env['PATH'] ?? '' } }));
      for (const word of ['secret', 'policy', 'cipher', 'operator', 'recover', 'restore', 'metadata']) {
        assert.ok(run.stdout.includes(word), `${shell} completion lacks ${word}`);
      }
    }
    const bash = ok(await runSpike(['completion', 'bash'], { env: {} })).stdout;
    execFileSync('bash', ['-n'], { input: bash });
    assert.equal((await runSpike(['completion', 'tcsh'], { env: {} })).code, 2);
    assert.match(ok(await runSpike(['version'], { env: {} })).stdout, /^spike \d+\.\d+\.\d+\n$/);
  });

  it('the launcher refuses Node < 24 with a clear message', (t) => {
    const old = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
      try {
        return (
          Number(execFileSync(p, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' })) < 24
        );
      } catch {
        return false;
      }
    });
    if (old === undefined) {
      t.skip('no Node.js older than 24 on this machine');
      return;
    }
    let stderr = '';
    try {
      execFileSync(old, [SPIKE_BIN, 'version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.fail('expected a non-zero exit');
    } catch (err) {
      stderr = String((err as { stderr?: unknown }).stderr);
      assert.equal((err as { status?: unknown }).status, 1);
    }
    assert.match(stderr, /spike needs Node\.js 24 or newer/);
  });
});
