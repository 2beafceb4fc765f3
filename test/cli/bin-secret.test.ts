/**
 * The real `spike` binary (child process, Node 24) against a fake Nexus over mTLS, with SVIDs
 * from a dev identity issuer: secret commands, output formats, errors and exit codes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { startFakeNexus } from '@spike-ts/sdk/testing';
import type { FakeNexus } from '@spike-ts/sdk/testing';
import { ok, runSpike, startIdentityLab } from './cli-harness.ts';
import type { IdentityLab } from './cli-harness.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  return typeof addr === 'object' && addr !== null ? addr.port : 0;
}

interface MetaDoc {
  versions: Record<string, unknown>;
  metadata: { currentVersion: number; oldestVersion: number };
}

describe('spike secret (binary)', () => {
  let lab: IdentityLab;
  let fake: FakeNexus;
  const spike = (args: string[], identity = 'pilot', extra: Record<string, string> = {}, input?: string) =>
    runSpike(args, { env: lab.env(identity, fake.url, extra), ...(input === undefined ? {} : { input }) });

  before(async () => {
    lab = await startIdentityLab();
    fake = await startFakeNexus(await lab.nexusTls());
  });
  after(async () => {
    await fake?.close();
    await lab?.close();
  });

  it('put then get in human, json and yaml', async () => {
    const put = ok(
      await spike(['secret', 'put', 'tenants/demo/db/creds', 'username=SPIKE', 'password=SPIKE_Rocks']),
    );
    assert.equal(put.stdout, '');
    assert.match(put.stderr, /OK/);
    assert.equal(
      ok(await spike(['secret', 'get', 'tenants/demo/db/creds'])).stdout,
      'password: SPIKE_Rocks\nusername: SPIKE\n',
    );
    const json = ok(await spike(['secret', 'get', 'tenants/demo/db/creds', '-f', 'json'])).stdout;
    assert.deepEqual(JSON.parse(json), { password: 'SPIKE_Rocks', username: 'SPIKE' });
    const yaml = ok(await spike(['secret', 'get', 'tenants/demo/db/creds', '--format', 'y'])).stdout;
    assert.deepEqual(parseYaml(yaml), { password: 'SPIKE_Rocks', username: 'SPIKE' });
    assert.equal(ok(await spike(['secret', 'get', 'tenants/demo/db/creds', 'username'])).stdout, 'SPIKE\n');
    assert.equal(
      ok(await spike(['secret', 'get', 'tenants/demo/db/creds', 'username', '-f', 'j'])).stdout,
      '"SPIKE"\n',
    );
  });

  it('reads an older version with -v', async () => {
    ok(await spike(['secret', 'put', 'tenants/demo/db/creds', 'username=v2']));
    assert.equal(
      ok(await spike(['secret', 'get', 'tenants/demo/db/creds', '-v', '1', 'username'])).stdout,
      'SPIKE\n',
    );
    assert.equal(ok(await spike(['secret', 'get', 'tenants/demo/db/creds', 'username'])).stdout, 'v2\n');
  });

  it('lists in human, json and yaml', async () => {
    ok(await spike(['secret', 'put', 'app/a', 'k=v']));
    assert.equal(ok(await spike(['secret', 'list'])).stdout, '- app/a\n- tenants/demo/db/creds\n');
    assert.deepEqual(JSON.parse(ok(await spike(['secret', 'list', '-f', 'json'])).stdout), [
      'app/a',
      'tenants/demo/db/creds',
    ]);
    assert.deepEqual(parseYaml(ok(await spike(['secret', 'list', '-f', 'yaml'])).stdout), [
      'app/a',
      'tenants/demo/db/creds',
    ]);
  });

  it('shows metadata in human, json and yaml', async () => {
    const human = ok(await spike(['secret', 'metadata', 'get', 'tenants/demo/db/creds'])).stdout;
    assert.match(human, /Current Version : 2/);
    assert.match(human, /Max Versions {4}: 10/);
    assert.match(human, /Version 1:\n {4}Created : \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n {4}Deleted : no/);
    const json = JSON.parse(
      ok(await spike(['secret', 'metadata', 'get', 'tenants/demo/db/creds', '-f', 'json'])).stdout,
    ) as MetaDoc;
    assert.equal(json.metadata.currentVersion, 2);
    assert.deepEqual(Object.keys(json.versions).sort(), ['1', '2']);
    // YAML as SPIKE's CLI prints it: Go's lowercased field names, versions first, integer keys.
    const yamlText = ok(
      await spike(['secret', 'metadata', 'get', 'tenants/demo/db/creds', '-f', 'yaml']),
    ).stdout;
    assert.match(yamlText, /^versions:\n {2}1:\n/);
    assert.match(yamlText, /\n {2}2:\n/);
    const yaml = parseYaml(yamlText) as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(Object.keys(yaml), ['versions', 'metadata']);
    assert.deepEqual(Object.keys(yaml['metadata'] ?? {}), [
      'currentversion',
      'oldestversion',
      'createdtime',
      'updatedtime',
      'maxversions',
    ]);
    assert.equal(yaml['metadata']?.['currentversion'], 2);
    assert.equal(yaml['metadata']?.['oldestversion'], 1);
    assert.equal(yaml['metadata']?.['maxversions'], 10);
    assert.deepEqual(Object.keys(yaml['versions'] ?? {}), ['1', '2']);
    const v1 = yaml['versions']?.['1'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(v1), ['createdtime', 'version', 'deletedtime']);
    assert.equal(v1['version'], 1);
    assert.equal(v1['deletedtime'], null);
    assert.match(String(v1['createdtime']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it('deletes and undeletes, and the default undelete revives a fully deleted secret', async () => {
    ok(await spike(['secret', 'delete', 'app/a']));
    const gone = await spike(['secret', 'get', 'app/a']);
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /Secret 'app\/a' not found\./);
    assert.doesNotMatch(gone.stderr, /connect/i);
    ok(await spike(['secret', 'undelete', 'app/a']));
    assert.equal(ok(await spike(['secret', 'get', 'app/a', 'k'])).stdout, 'v\n');
    ok(await spike(['secret', 'delete', 'tenants/demo/db/creds', '-v', '1,2']));
    assert.equal((await spike(['secret', 'get', 'tenants/demo/db/creds'])).code, 3);
    ok(await spike(['secret', 'undelete', 'tenants/demo/db/creds', '-v', '1']));
    assert.equal(ok(await spike(['secret', 'get', 'tenants/demo/db/creds', 'username'])).stdout, 'SPIKE\n');
  });

  it('not found: secret, version and key', async () => {
    const missing = await spike(['secret', 'get', 'no/such']);
    assert.equal(missing.code, 3);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^Error: Secret 'no\/such' not found\.\n$/);
    const key = await spike(['secret', 'get', 'app/a', 'nokey']);
    assert.equal(key.code, 3);
    assert.match(key.stderr, /Key 'nokey' not found in secret 'app\/a'/);
    const meta = await spike(['secret', 'metadata', 'get', 'app/a', '-v', '9']);
    assert.equal(meta.code, 3);
    assert.match(meta.stderr, /has no version 9/);
  });

  it('invalid input names the argument and exits 1; usage errors exit 2', async () => {
    const path = await spike(['secret', 'put', 'bad path', 'k=v']);
    assert.equal(path.code, 1);
    assert.match(path.stderr, /Invalid secret path 'bad path' \(argument <path>\)/);
    const pair = await spike(['secret', 'put', 'a/b', 'k=v', 'hunter2']);
    assert.equal(pair.code, 1);
    assert.match(pair.stderr, /key=value argument #2/);
    assert.doesNotMatch(pair.stderr, /hunter2/);
    const version = await spike(['secret', 'get', 'a/b', '-v', 'x']);
    assert.equal(version.code, 1);
    assert.match(version.stderr, /Invalid value 'x' for --version/);
    const format = await spike(['secret', 'list', '-f', 'xml']);
    assert.equal(format.code, 1);
    assert.match(format.stderr, /Invalid value 'xml' for --format/);
    const usage = await spike(['secret', 'put', 'only-path']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing required argument/);
    assert.equal((await spike(['secret', 'frobnicate'])).code, 2);
  });

  it('unauthorized: wrong SVID role is refused before calling Nexus, naming the SPIFFE ID', async () => {
    const before = fake.requests.length;
    const run = await spike(['secret', 'list'], 'stranger');
    assert.equal(run.code, 4);
    assert.match(
      run.stderr,
      /needs the SPIKE Pilot superuser role, but this CLI's SVID is spiffe:\/\/spike\.ist\/workload\/stranger/,
    );
    assert.equal(fake.requests.length, before);
    const recover = await spike(['secret', 'list'], 'pilot-recover');
    assert.equal(recover.code, 4);
    assert.match(recover.stderr, /pilot\/role\/recover/);
  });

  it('unauthorized by Nexus names the caller', async () => {
    fake.override = { status: 401, body: '{"err":"access_unauthorized"}' };
    try {
      const denied = await spike(['secret', 'get', 'app/a']);
      assert.equal(denied.code, 4);
      assert.match(
        denied.stderr,
        /denied this request for spiffe:\/\/spike\.ist\/spike\/pilot\/role\/superuser/,
      );
    } finally {
      fake.override = undefined;
    }
  });

  it('not ready: says to initialize or restore, exit 5', async () => {
    fake.ready = false;
    try {
      const run = await spike(['secret', 'list']);
      assert.equal(run.code, 5);
      assert.match(run.stderr, /not initialized or not ready.*SPIKE Bootstrap.*spike operator restore/);
    } finally {
      fake.ready = true;
    }
  });

  it('unreachable Nexus names the URL and SPIKE_NEXUS_API_URL, exit 6', async () => {
    const url = `https://127.0.0.1:${await freePort()}`;
    const run = await runSpike(['secret', 'list'], { env: lab.env('pilot', url) });
    assert.equal(run.code, 6);
    assert.ok(run.stderr.includes(`Cannot reach SPIKE Nexus at ${url}`), run.stderr);
    assert.match(run.stderr, /SPIKE_NEXUS_API_URL is https:\/\/127\.0\.0\.1/);
    assert.doesNotMatch(run.stderr, /not found/i);
  });

  it('no SVID names the socket, exit 7', async () => {
    const env = { ...lab.env('pilot', fake.url), SPIFFE_ENDPOINT_SOCKET: `unix://${lab.dir}/nope.sock` };
    const run = await runSpike(['secret', 'list'], { env });
    assert.equal(run.code, 7);
    assert.ok(run.stderr.includes(`${lab.dir}/nope.sock (from SPIFFE_ENDPOINT_SOCKET)`), run.stderr);
    assert.match(run.stderr, /No SVID/);
  });

  it('spike alone prints help and reminds to initialize when Nexus is not ready; --help only prints', async () => {
    const ready = ok(await spike([]));
    assert.match(ready.stdout, /Usage: spike/);
    assert.match(ready.stdout, /Exit codes:/);
    assert.doesNotMatch(ready.stderr, /Reminder/);
    fake.ready = false;
    try {
      const bare = ok(await spike([]));
      assert.match(bare.stdout, /secret/);
      assert.match(bare.stderr, /Reminder: .*initialize it first/);
      const help = ok(await spike(['--help']));
      assert.match(help.stdout, /secret/);
      assert.equal(help.stderr, '', '--help asks Nexus nothing');
    } finally {
      fake.ready = true;
    }
    const down = await runSpike([], { env: lab.env('pilot', `https://127.0.0.1:${await freePort()}`) });
    assert.equal(down.code, 0);
    assert.match(down.stderr, /Reminder/);
  });
});
