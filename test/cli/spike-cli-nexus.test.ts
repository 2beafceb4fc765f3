/**
 * End to end: the real `spike` binary and the demo workload (child processes, Node 24) against
 * the real Nexus (in-process, memory backend) over mTLS, every party holding an SVID from the
 * dev identity issuer's Workload API sockets. A second Nexus with the sqlite backend and no root
 * key shows the not-ready path.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { createX509Source } from '@spike-ts/identity';
import type { X509Source } from '@spike-ts/identity';
import type { Nexus } from '@spike-ts/nexus';
import { ok, runSpike, startIdentityLab, startNexus } from './cli-harness.ts';
import type { IdentityLab } from './cli-harness.ts';

const DEMO = fileURLToPath(new URL('../../examples/demo-workload.ts', import.meta.url));

function runNode(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('spike CLI against the real Nexus', () => {
  let lab: IdentityLab;
  let source: X509Source;
  let memory: { nexus: Nexus; url: string };
  let unready: { nexus: Nexus; url: string };
  const spike = (args: string[], identity = 'pilot', input?: string | Buffer) =>
    runSpike(args, { env: lab.env(identity, memory.url), ...(input === undefined ? {} : { input }) });

  before(async () => {
    lab = await startIdentityLab();
    source = await createX509Source({
      endpoint: lab.issuer.endpointFor('nexus'),
      env: {},
      timeoutMs: 10_000,
    });
    memory = await startNexus(lab, source, { SPIKE_NEXUS_BACKEND_STORE: 'memory' });
    unready = await startNexus(lab, source, {
      SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
      SPIKE_NEXUS_DATA_DIR: join(lab.dir, 'nexus'),
      SPIKE_NEXUS_KEEPER_PEERS: 'https://127.0.0.1:1,https://127.0.0.1:2,https://127.0.0.1:3',
    });
  });
  after(async () => {
    await memory?.nexus.close();
    await unready?.nexus.close();
    await source?.close();
    await lab?.close();
  });

  it('secrets: put, get, list, metadata, delete, undelete', async () => {
    ok(await spike(['secret', 'put', 'app/db', 'user=admin', 'pass=s3cr3t']));
    ok(await spike(['secret', 'put', 'app/db', 'user=admin2', 'pass=s3cr3t2']));
    assert.equal(ok(await spike(['secret', 'get', 'app/db'])).stdout, 'pass: s3cr3t2\nuser: admin2\n');
    assert.deepEqual(
      JSON.parse(ok(await spike(['secret', 'get', 'app/db', '-v', '1', '-f', 'json'])).stdout),
      {
        pass: 's3cr3t',
        user: 'admin',
      },
    );
    assert.deepEqual(parseYaml(ok(await spike(['secret', 'list', '-f', 'yaml'])).stdout), ['app/db']);
    const meta = JSON.parse(
      ok(await spike(['secret', 'metadata', 'get', 'app/db', '-f', 'json'])).stdout,
    ) as {
      metadata: { currentVersion: number };
    };
    assert.equal(meta.metadata.currentVersion, 2);
    assert.match(ok(await spike(['secret', 'metadata', 'get', 'app/db'])).stdout, /Current Version : 2/);
    ok(await spike(['secret', 'delete', 'app/db', '-v', '1,2']));
    const gone = await spike(['secret', 'get', 'app/db']);
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /Secret 'app\/db' not found\./);
    ok(await spike(['secret', 'undelete', 'app/db']));
    assert.equal(ok(await spike(['secret', 'get', 'app/db', 'user'])).stdout, 'admin2\n');
  });

  it('policies: create, apply from YAML and JSON files, list, get, delete', async () => {
    ok(
      await spike([
        'policy',
        'create',
        '--name',
        'workload-can-read',
        '--spiffeid-pattern',
        '^spiffe://spike\\.ist/workload/.*$',
        '--path-pattern',
        '^tenants/demo/db/.*$',
        '--permissions',
        'read',
      ]),
    );
    const yamlFile = join(lab.dir, 'write.yaml');
    await writeFile(
      yamlFile,
      "name: workload-can-write\nspiffeidPattern: '^spiffe://spike\\.ist/workload/.*$'\npathPattern: '^tenants/demo/db/.*$'\npermissions: [write]\n",
    );
    ok(await spike(['policy', 'apply', '--file', yamlFile]));
    const jsonFile = join(lab.dir, 'tmp.json');
    await writeFile(
      jsonFile,
      JSON.stringify({
        name: 'tmp',
        spiffeidPattern: '^spiffe://spike\\.ist/x$',
        pathPattern: '^x$',
        permissions: ['list'],
      }),
    );
    ok(await spike(['policy', 'apply', '--file', jsonFile]));
    const names = (JSON.parse(ok(await spike(['policy', 'list', '-f', 'json'])).stdout) as { name: string }[])
      .map((p) => p.name)
      .sort();
    assert.deepEqual(names, ['tmp', 'workload-can-read', 'workload-can-write']);
    const got = JSON.parse(ok(await spike(['policy', 'get', 'workload-can-write', '-f', 'json'])).stdout) as {
      spiffeidPattern: string;
      permissions: string[];
    };
    assert.equal(got.spiffeidPattern, '^spiffe://spike\\.ist/workload/.*$');
    assert.deepEqual(got.permissions, ['write']);
    assert.equal((await spike(['policy', 'delete', 'tmp'])).code, 1, 'no TTY and no --yes');
    ok(await spike(['policy', 'delete', 'tmp', '--yes']));
    assert.equal((await spike(['policy', 'get', 'tmp'])).code, 3);
  });

  it('the demo workload writes and reads its secret through the policies, never printing the password', async () => {
    const run = await runNode(DEMO, lab.env('demo', memory.url));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /password: matches the value written \(not shown\)/);
    assert.match(run.stdout, /username: SPIKE/);
    assert.doesNotMatch(run.stdout + run.stderr, /SPIKE_Rocks/);
    assert.equal(
      ok(await spike(['secret', 'get', 'tenants/demo/db/creds', 'password'])).stdout,
      'SPIKE_Rocks\n',
    );
  });

  it('cipher: stream and JSON mode round trips', async () => {
    const plaintext = Buffer.from('attack at dawn\n\u0000\u00ff', 'latin1');
    const framed = ok(await spike(['cipher', 'encrypt'], 'pilot', plaintext)).stdoutBytes;
    assert.equal(framed[0], 1);
    assert.deepEqual(ok(await spike(['cipher', 'decrypt'], 'pilot', framed)).stdoutBytes, plaintext);
    const doc = ok(await spike(['cipher', 'encrypt', '--plaintext', plaintext.toString('base64')])).stdout;
    const file = join(lab.dir, 'enc.json');
    await writeFile(file, doc);
    assert.deepEqual(ok(await spike(['cipher', 'decrypt', '--file', file])).stdoutBytes, plaintext);
    const { version, nonce, ciphertext } = JSON.parse(doc) as {
      version: number;
      nonce: string;
      ciphertext: string;
    };
    assert.deepEqual(
      ok(
        await spike([
          'cipher',
          'decrypt',
          '--version',
          String(version),
          '--nonce',
          nonce,
          '--ciphertext',
          ciphertext,
        ]),
      ).stdoutBytes,
      plaintext,
    );
  });

  it('errors: unauthorized caller, invalid path', async () => {
    const stranger = await spike(['secret', 'list'], 'stranger');
    assert.equal(stranger.code, 4);
    assert.match(stranger.stderr, /spiffe:\/\/spike\.ist\/workload\/stranger/);
    const bad = await spike(['secret', 'get', 'has space']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /argument <path>/);
  });

  it('a Nexus without a root key: commands exit 5 and the help reminds to initialize', async () => {
    const env = lab.env('pilot', unready.url);
    const run = await runSpike(['secret', 'list'], { env });
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stderr, /not initialized or not ready.*spike operator restore/);
    const help = await runSpike([], { env });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: spike/);
    assert.match(help.stderr, /Reminder: .*initialize it first/);
  });
});
