/**
 * Our Workload API client (`createX509Source`, `fetchJwtBundles`, `fetchJwtSvid`) against a real
 * SPIRE agent: every role's process gets its own SPIFFE ID although all run as one uid (the
 * entries tell them apart by executable path), a process no entry selects is retried on
 * PERMISSION_DENIED and then times out with a clear error (or succeeds once an entry appears), and
 * the X.509 and JWT bundles are exactly what `spire-server bundle show` reports.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { launch, tail, waitUntil } from './child-process.ts';
import { OUR_UID, startSpire, type SpireHarness } from './spire-harness.ts';
import { SCRIPT, SpikeOnSpire } from './spike-on-spire.ts';

interface FetchReport {
  ok: boolean;
  uid?: number;
  spiffeId?: string;
  serial?: string;
  chainLength?: number;
  bundles?: Record<string, string[]>;
  jwtBundles?: Record<string, { keys: Array<Record<string, unknown>> }>;
  jwtSpiffeId?: string;
  jwtSubject?: string;
  name?: string;
  message?: string;
  retries: string[];
}

function parseReport(stdout: string): FetchReport {
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line !== undefined, `no report from fetch-svid: ${stdout}`);
  return JSON.parse(line) as FetchReport;
}

function pemToDerBase64(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b).raw.toString('base64'));
}

describe('our Workload API client against a real SPIRE agent', () => {
  let spire: SpireHarness;
  let stack: SpikeOnSpire;

  before(async () => {
    spire = await startSpire();
    stack = new SpikeOnSpire(spire);
  });
  after(async () => {
    await stack?.close();
    await spire?.close();
  });

  it('gives each role the SPIFFE ID of its registration entry, all under one uid, with a SPIRE-signed chain', async () => {
    const roles = [...spire.roles.values()];
    const reports = await Promise.all(
      roles.map(async (role) => {
        const r = await stack.runNode(role.name, SCRIPT.fetchSvid, ['20000']);
        assert.equal(r.code, 0, `${role.name}: ${r.stdout}${r.stderr}`);
        return parseReport(r.stdout);
      }),
    );
    const bundle = pemToDerBase64(await spire.bundlePem());
    roles.forEach((role, i) => {
      const report = reports[i]!;
      assert.equal(report.uid, OUR_UID, 'every role runs as the test user');
      assert.equal(report.spiffeId, role.spiffeId, role.name);
      assert.equal(report.chainLength, 1, 'SPIRE without an upstream CA signs leaves with its root');
      assert.deepEqual(report.bundles, { 'spike.ist': bundle });
      // A JWT-SVID for the same identity verifies locally against SPIRE's JWT bundle.
      assert.equal(report.jwtSpiffeId, role.spiffeId);
      assert.equal(report.jwtSubject, role.spiffeId);
    });
    assert.equal(new Set(reports.map((r) => r.serial)).size, roles.length, 'every role has its own SVID');
  });

  it('returns the X.509 and JWT bundles that spire-server bundle show reports', async () => {
    const r = await stack.runNode('demo', SCRIPT.fetchSvid, ['20000']);
    const report = parseReport(r.stdout);
    assert.equal(report.ok, true, r.stdout + r.stderr);
    const shown = await spire.serverCli(['bundle', 'show', '-format', 'spiffe']);
    assert.equal(shown.code, 0, shown.stderr);
    const spiffeBundle = JSON.parse(shown.stdout) as { keys: Array<Record<string, unknown>> };
    const x509 = spiffeBundle.keys.filter((k) => k['use'] === 'x509-svid');
    const jwt = spiffeBundle.keys.filter((k) => k['use'] === 'jwt-svid');
    assert.ok(x509.length > 0 && jwt.length > 0, shown.stdout);
    assert.deepEqual(
      report.bundles?.['spike.ist'],
      x509.map((k) => (k['x5c'] as string[])[0]),
    );
    const got = report.jwtBundles?.['spike.ist']?.keys ?? [];
    const pick = (k: Record<string, unknown>) => ({
      kid: k['kid'],
      kty: k['kty'],
      crv: k['crv'],
      x: k['x'],
      y: k['y'],
    });
    assert.deepEqual(got.map(pick), jwt.map(pick));
  });

  it('retries PERMISSION_DENIED for a process no entry selects, then fails with a timeout that says why', async () => {
    // Same uid, same Node.js binary, same script as the demo role: only the path differs.
    const r = await stack.runNode('demo', SCRIPT.fetchSvid, ['3000'], { exe: 'unregistered' });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = parseReport(r.stdout);
    assert.equal(report.ok, false);
    assert.equal(report.name, 'X509SourceTimeoutError');
    assert.match(report.message ?? '', /timed out after 3s waiting for an X\.509-SVID/);
    assert.match(report.message ?? '', /PERMISSION_DENIED: no identity issued/);
    assert.match(report.message ?? '', /registration entry/);
    assert.ok(report.retries.length >= 2, `retried ${String(report.retries.length)} times`);
    assert.ok(
      report.retries.every((c) => c === 'PERMISSION_DENIED'),
      report.retries.join(','),
    );
  });

  it('keeps retrying until an entry for the process appears, then gets that identity', async () => {
    const exe = await spire.nodeFor('late');
    const spiffeId = 'spiffe://spike.ist/workload/late';
    const child = launch(exe, [SCRIPT.fetchSvid, '30000'], {
      name: 'late-fetch',
      env: await stack.env('demo', { HOME: '/' }),
    });
    try {
      await waitUntil('the first PERMISSION_DENIED retry', 20_000, () => {
        if (!child.running()) throw new Error(`fetch-svid exited early:\n${child.output()}`);
        return child.output().includes('retry PERMISSION_DENIED') ? true : undefined;
      });
      await spire.createEntry(spiffeId, exe);
      assert.equal(await child.exited, 0, tail(child.output()));
      const report = parseReport(
        child
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .join('\n'),
      );
      assert.equal(report.spiffeId, spiffeId);
      assert.ok(report.retries.includes('PERMISSION_DENIED'));
    } finally {
      await child.stop('SIGKILL');
    }
  });
});
