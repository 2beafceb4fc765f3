/**
 * The policy people fields (ADR 0036) through the real `spike` binary against the real Nexus
 * (in-process, memory backend) over mTLS: --people, --groups and --workloads-only on create and
 * apply, shown by get; bad values refused before anything is stored; SPIKE-style create unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createX509Source } from '@spike-ts/identity';
import type { X509Source } from '@spike-ts/identity';
import type { Nexus } from '@spike-ts/nexus';
import { ok, runSpike, startIdentityLab, startNexus } from './cli-harness.ts';
import type { IdentityLab } from './cli-harness.ts';

describe('spike policy with people and groups against the real Nexus', () => {
  let lab: IdentityLab;
  let source: X509Source;
  let memory: { nexus: Nexus; url: string };
  const spike = (args: string[]) => runSpike(args, { env: lab.env('pilot', memory.url) });
  const names = async () =>
    (JSON.parse(ok(await spike(['policy', 'list', '-f', 'json'])).stdout) as { name: string }[])
      .map((p) => p.name)
      .sort();

  before(async () => {
    lab = await startIdentityLab();
    source = await createX509Source({
      endpoint: lab.issuer.endpointFor('nexus'),
      env: {},
      timeoutMs: 10_000,
    });
    memory = await startNexus(lab, source, { SPIKE_NEXUS_BACKEND_STORE: 'memory' });
  });
  after(async () => {
    await memory?.nexus.close();
    await source?.close();
    await lab?.close();
  });

  it('create with groups and people and no SPIFFE ID pattern; get shows them in text, JSON and YAML', async () => {
    const created = ok(
      await spike([
        'policy',
        'create',
        '--name',
        'infra-db',
        '--path-pattern',
        '^infra/db/.*$',
        '--permissions',
        'read,write',
        '--groups',
        'infra, trustees',
        '--people',
        'user:alice,user:bob',
      ]),
    );
    assert.match(created.stderr, /Policy 'infra-db' created successfully\./);
    const text = ok(await spike(['policy', 'get', 'infra-db'])).stdout;
    assert.match(text, /^People: +user:alice, user:bob$/m);
    assert.match(text, /^Groups: +infra, trustees$/m);
    assert.doesNotMatch(text, /Workloads Only/);
    const json = JSON.parse(ok(await spike(['policy', 'get', 'infra-db', '-f', 'json'])).stdout) as Record<
      string,
      unknown
    >;
    assert.deepEqual(json.people, ['user:alice', 'user:bob']);
    assert.deepEqual(json.groups, ['infra', 'trustees']);
    assert.equal(json.spiffeidPattern, '');
    assert.equal('workloadsOnly' in json, false);
    const yaml = parseYaml(ok(await spike(['policy', 'get', 'infra-db', '-f', 'yaml'])).stdout) as Record<
      string,
      unknown
    >;
    assert.deepEqual(yaml.groups, ['infra', 'trustees']);
  });

  it('create with --workloads-only; get shows it', async () => {
    ok(
      await spike([
        'policy',
        'create',
        '--name',
        'robots-only',
        '--spiffeid-pattern',
        '^spiffe://spike\\.ist/workload/.*$',
        '--path-pattern',
        '^robots/.*$',
        '--permissions',
        'read',
        '--workloads-only',
      ]),
    );
    assert.match(ok(await spike(['policy', 'get', 'robots-only'])).stdout, /^Workloads Only: +yes$/m);
    const json = JSON.parse(ok(await spike(['policy', 'get', 'robots-only', '-f', 'json'])).stdout) as Record<
      string,
      unknown
    >;
    assert.equal(json.workloadsOnly, true);
    assert.equal('people' in json, false);
  });

  it('apply from a YAML file with groups', async () => {
    const file = join(lab.dir, 'trustees.yaml');
    await writeFile(
      file,
      "name: cloud-master\npathPattern: '^cloud/master$'\npermissions: [read]\ngroups: [trustees]\n",
    );
    ok(await spike(['policy', 'apply', '--file', file]));
    const json = JSON.parse(
      ok(await spike(['policy', 'get', 'cloud-master', '-f', 'json'])).stdout,
    ) as Record<string, unknown>;
    assert.deepEqual(json.groups, ['trustees']);
  });

  it('refuses bad people fields with a clear message and stores nothing', async () => {
    const before = await names();
    const base = ['--path-pattern', '^x/.*$', '--permissions', 'read'];
    const cases: [string[], RegExp][] = [
      [
        ['--name', 'bad1', '--people', 'alice', ...base],
        /Invalid people entry 'alice' \(--people\).*user:<name>/,
      ],
      [['--name', 'bad2', '--groups', 'infra,,trustees', ...base], /Invalid groups entry '' \(--groups\)/],
      [['--name', 'bad3', '--groups', '', ...base], /Invalid groups entry '' \(--groups\)/],
      [
        ['--name', 'bad4', '--groups', 'infra', '--workloads-only', ...base],
        /--workloads-only.*must not name people or groups/,
      ],
      [['--name', 'bad5', ...base], /Missing required option\(s\): --spiffeid-pattern/],
    ];
    for (const [args, message] of cases) {
      for (const verb of ['create', 'apply']) {
        const run = await spike(['policy', verb, ...args]);
        assert.notEqual(run.code, 0, `${verb} ${args.join(' ')}`);
        assert.match(run.stderr, message);
      }
    }
    const file = join(lab.dir, 'bad.yaml');
    await writeFile(file, "name: bad6\npathPattern: '^x$'\npermissions: [read]\npeople: [bob]\n");
    const fromFile = await spike(['policy', 'apply', '--file', file]);
    assert.notEqual(fromFile.code, 0);
    assert.match(fromFile.stderr, /Invalid people entry 'bob' \(people in .*bad\.yaml\)/);
    assert.deepEqual(await names(), before);
  });

  it('SPIKE-style create is unchanged: no people fields stored or printed', async () => {
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
    const json = JSON.parse(
      ok(await spike(['policy', 'get', 'workload-can-read', '-f', 'json'])).stdout,
    ) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json).sort(), [
      'createdAt',
      'id',
      'name',
      'pathPattern',
      'permissions',
      'spiffeidPattern',
      'spiffiedPattern',
      'updatedAt',
    ]);
    const text = ok(await spike(['policy', 'get', 'workload-can-read'])).stdout;
    assert.doesNotMatch(text, /People|Groups|Workloads Only/);
  });
});
