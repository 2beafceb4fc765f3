/**
 * The CLI, in process with the real SDK over mTLS, against a fake Nexus that behaves like SPIKE
 * 0.8.2's (500 for a missing policy): what scripts written for SPIKE's CLI rely on. Policy output
 * keys, "not found" for a missing policy, and secret keys named like object members.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { createSpikeClient } from '@spike-ts/sdk';
import { createTestPki, startFakeNexus } from '@spike-ts/sdk/testing';
import type { FakeNexus, TestPki } from '@spike-ts/sdk/testing';
import type { CliIo } from './cli-io.ts';
import { ExitCode } from './exit-code.ts';
import { runCli } from './run-cli.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Keys SPIKE's CLI prints for `policy get -f json` (its SDK's `data.Policy` JSON tags). */
const SPIKE_JSON_KEYS = [
  'id',
  'name',
  'spiffiedPattern',
  'pathPattern',
  'permissions',
  'createdAt',
  'updatedAt',
];
/** Keys SPIKE's CLI prints for `policy get -f yaml` (yaml.v3 lowercases the Go field names). */
const SPIKE_YAML_KEYS = [
  'id',
  'name',
  'spiffeidpattern',
  'pathpattern',
  'permissions',
  'createdat',
  'updatedat',
  'idregex',
  'pathregex',
];

describe('CLI against a SPIKE 0.8.2-like Nexus', () => {
  let pki: TestPki;
  let fake: FakeNexus;

  const spike = async (args: string[]): Promise<Run> => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      env: {},
      stdout: { write: (c) => (stdout += String(c)) },
      stderr: { write: (c) => (stderr += String(c)) },
      stdin: new PassThrough(),
      openSource: () => Promise.resolve(pki.sourceFor('superuser')),
      openClient: (source) => createSpikeClient({ source, nexusUrl: fake.url, env: {}, timeoutMs: 5000 }),
    };
    const code = await runCli(args, io);
    return { code, stdout, stderr };
  };
  const ok = (run: Run): Run => {
    assert.equal(run.code, ExitCode.Ok, run.stderr);
    return run;
  };

  before(async () => {
    pki = await createTestPki();
    fake = await startFakeNexus({ ...pki.serverTls(), missingPolicyStatus: 500 });
    ok(
      await spike([
        'policy',
        'apply',
        '--name',
        'web',
        '--spiffeid-pattern',
        '^spiffe://spike\\.ist/web/.*$',
        '--path-pattern',
        '^tenants/web/.*$',
        '--permissions',
        'read,write',
      ]),
    );
  });
  after(async () => {
    await fake?.close();
  });

  it('policy get -f json prints every key SPIKE prints (plus spiffeidPattern)', async () => {
    const doc = JSON.parse(ok(await spike(['policy', 'get', 'web', '-f', 'json'])).stdout) as Record<
      string,
      unknown
    >;
    for (const key of SPIKE_JSON_KEYS) assert.ok(Object.hasOwn(doc, key), `missing ${key}`);
    assert.equal(doc['spiffiedPattern'], '^spiffe://spike\\.ist/web/.*$');
    assert.equal(doc['spiffeidPattern'], doc['spiffiedPattern']);
    assert.equal(doc['id'], '');
    assert.equal(doc['name'], 'web');
    assert.equal(doc['pathPattern'], '^tenants/web/.*$');
    assert.deepEqual(doc['permissions'], ['read', 'write']);
    assert.equal(typeof doc['createdAt'], 'string');
    assert.equal(typeof doc['updatedAt'], 'string');
  });

  it("policy get -f yaml prints SPIKE's keys, and only those", async () => {
    const doc = parseYaml(ok(await spike(['policy', 'get', '--name', 'web', '-f', 'yaml'])).stdout) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(doc), SPIKE_YAML_KEYS);
    assert.equal(doc['spiffeidpattern'], '^spiffe://spike\\.ist/web/.*$');
    assert.equal(doc['pathpattern'], '^tenants/web/.*$');
    assert.deepEqual(doc['permissions'], ['read', 'write']);
    assert.equal(doc['idregex'], null);
    assert.equal(doc['pathregex'], null);
  });

  it('policy list -f json|yaml prints id and name, as SPIKE', async () => {
    assert.deepEqual(JSON.parse(ok(await spike(['policy', 'list', '-f', 'json'])).stdout), [
      { id: '', name: 'web' },
    ]);
    assert.deepEqual(parseYaml(ok(await spike(['policy', 'list', '-f', 'yaml'])).stdout), [
      { id: '', name: 'web' },
    ]);
  });

  it('a missing policy is "not found" (exit 3), not an internal error, for get and delete', async () => {
    for (const args of [
      ['policy', 'get', 'absent'],
      ['policy', 'get', 'absent', '-f', 'json'],
      ['policy', 'delete', 'absent', '--yes'],
      ['policy', 'delete', '--name', 'absent', '--yes'],
    ]) {
      const run = await spike(args);
      assert.equal(run.code, ExitCode.NotFound, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stderr, "Error: Policy 'absent' not found.\n");
      assert.equal(run.stdout, '');
    }
    // Nothing was deleted on the way.
    ok(await spike(['policy', 'get', 'web']));
  });

  it('secret keys named like object members are sent and printed as plain keys', async () => {
    ok(await spike(['secret', 'put', 'tenants/web/proto', '__proto__=x', 'constructor=y', 'toString=z']));
    const sent = JSON.parse(fake.requests.at(-1)?.body.toString('utf8') ?? '') as unknown;
    assert.equal(
      JSON.stringify(sent),
      '{"path":"tenants/web/proto","values":{"__proto__":"x","constructor":"y","toString":"z"}}',
    );
    assert.equal(ok(await spike(['secret', 'get', 'tenants/web/proto', '__proto__'])).stdout, 'x\n');
    assert.equal(ok(await spike(['secret', 'get', 'tenants/web/proto', 'constructor'])).stdout, 'y\n');
    const json = JSON.parse(
      ok(await spike(['secret', 'get', 'tenants/web/proto', '-f', 'json'])).stdout,
    ) as object;
    assert.deepEqual(Object.entries(json), [
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['toString', 'z'],
    ]);
    const missing = await spike(['secret', 'get', 'tenants/web/proto', 'valueOf']);
    assert.equal(missing.code, ExitCode.NotFound);
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
  });
});
