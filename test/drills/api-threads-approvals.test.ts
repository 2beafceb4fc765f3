/**
 * Multi-party approval with API threads on SQLite (`SPIKE_NEXUS_API_THREADS=3`), real processes
 * and real mTLS: Nexus with its people listener (tokens from a local issuer in this process), the
 * dev identity issuer, keepers and bootstrap. Every request goes over a new connection, so the
 * kernel spreads them over the main thread and the two API threads. Once a policy has an approval
 * rule, a gated read is refused on every thread, an approved grant is used exactly once however
 * many connections (threads) try at the same time, and reads of other paths keep working.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MtlsClient } from '@spike-ts/identity';
import { createCa, issueSvid } from '@spike-ts/identity/mint';
import { startTestIssuer, type TestIssuer } from '@spike-ts/nexus/testing';
import { freePorts } from '../../scripts/stack.ts';
import { Drill } from './drill-kit.ts';

const CONNECTIONS = 24;
const A = '/v1/approvals?action=';

describe('approvals with API threads (real processes, real mTLS)', () => {
  let drill: Drill;
  let pilot: MtlsClient;
  let demo: MtlsClient;
  let idp: TestIssuer;
  let dir: string;
  let caPem: string;
  let peoplePort: number;

  const call = async (client: MtlsClient, path: string, body: unknown) => {
    const res = await client.request(`${drill.stack.nexusUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = res.body.toString('utf8');
    return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  const asPerson = async (
    path: string,
    body: unknown,
    who: { preferred_username: string; groups: string[] },
  ) => {
    const token = await idp.token(who);
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: peoplePort,
          method: 'POST',
          path,
          ca: caPem,
          servername: 'localhost',
          agent: false,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': String(payload.length),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
  const readAll = async (path: string): Promise<number[]> =>
    (
      await Promise.all(
        Array.from({ length: CONNECTIONS }, () => call(demo, '/v1/store/secrets?action=get', { path })),
      )
    )
      .map((r) => r.status)
      .sort();

  before(async () => {
    idp = await startTestIssuer();
    dir = await mkdtemp(join(tmpdir(), 'spx-threads-approvals-'));
    const ca = await createCa({ trustDomain: 'people.test' });
    caPem = ca.certPem;
    const cert = await issueSvid(ca, { spiffeId: 'spiffe://people.test/listener', dnsNames: ['localhost'] });
    await writeFile(join(dir, 'cert.pem'), cert.certPem);
    await writeFile(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 });
    await writeFile(
      join(dir, 'oidc.json'),
      JSON.stringify({ issuers: [{ issuer: idp.issuer, audience: 'spike-nexus', algorithms: ['RS256'] }] }),
    );
    [peoplePort = 0] = await freePorts(1);
    drill = await Drill.start({
      nexusEnv: {
        SPIKE_NEXUS_API_THREADS: '3',
        SPIKE_NEXUS_PEOPLE_LISTEN: `127.0.0.1:${String(peoplePort)}`,
        SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE: join(dir, 'cert.pem'),
        SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE: join(dir, 'key.pem'),
        SPIKE_NEXUS_OIDC_CONFIG: join(dir, 'oidc.json'),
      },
    });
    pilot = await drill.mtlsAs('pilot', 'nexus');
    demo = await drill.mtlsAs('demo', 'nexus');
    for (const [path, v] of [
      ['threads/gated/key', 'gated-value'],
      ['threads/open/key', 'open-value'],
    ] as const) {
      assert.equal((await call(pilot, '/v1/store/secrets', { path, values: { v } })).status, 200);
    }
    const policy = {
      name: 'demo-threads',
      spiffeidPattern: '^spiffe://spike\\.ist/workload/demo$',
      pathPattern: '^threads/.*$',
      permissions: ['read'],
    };
    assert.equal((await call(pilot, '/v1/acl/policy', policy)).status, 200);
  });
  after(async () => {
    await drill?.close();
    await idp?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a gated read on every thread, uses one grant once across threads, serves other paths', async () => {
    assert.deepEqual(await readAll('threads/gated/key'), Array(CONNECTIONS).fill(200));
    const rule = {
      name: 'gated-approval',
      spiffeidPattern: '',
      pathPattern: '^threads/gated/.*$',
      permissions: ['read'],
      approval: { required: 1, approverPeople: ['user:alice'] },
    };
    assert.equal((await call(pilot, '/v1/acl/policy', rule)).status, 200);
    assert.deepEqual(await readAll('threads/gated/key'), Array(CONNECTIONS).fill(403));
    assert.deepEqual(await readAll('threads/open/key'), Array(CONNECTIONS).fill(200));

    for (let round = 0; round < 3; round++) {
      const filed = await call(demo, `${A}request`, {
        operation: 'read',
        target: 'threads/gated/key',
        reason: 'drill',
      });
      assert.equal(filed.status, 200, JSON.stringify(filed.json));
      const id = (filed.json['request'] as { id: string }).id;
      const approved = await asPerson(`${A}approve`, { id }, { preferred_username: 'alice', groups: [] });
      assert.equal(approved.status, 200, JSON.stringify(approved.json));
      const statuses = await readAll('threads/gated/key');
      assert.deepEqual(
        statuses,
        [200, ...Array<number>(CONNECTIONS - 1).fill(403)],
        `round ${String(round)}`,
      );
    }
  });
});
