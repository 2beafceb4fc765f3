/**
 * The audit file and audit shipping settings with a real `spike-nexus` process: SIGHUP reopens
 * the audit file after logrotate-style renaming (no record lost, none twice, both files verify as
 * one chain and each on its own), and a missing TLS file for the syslog aggregator stops the
 * start, naming the variable.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startDevIssuer, type DevIssuer } from '@spike-ts/dev-identity';
import { parseAuditPublicKey, verifyAuditChain } from '@spike-ts/protocol';
import { waitFor } from '../../scripts/stack.ts';
import { call, type ClientCert, type Pki } from './harness.ts';
import { NEXUS_BIN, certFromIssuer, issuerTrust, killAll, launch, waitForPort } from './processes.ts';

async function requestIds(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.includes('"checkpoint":'))
    .map((l) => (JSON.parse(l) as { requestId: string }).requestId);
}

describe('spike-nexus audit file and shipping settings', () => {
  let dir: string;
  let issuer: DevIssuer;
  let trust: Pki;
  let pilot: ClientCert;

  before(async () => {
    dir = await mkdtemp('/tmp/spx-audit-');
    issuer = await startDevIssuer({ stateDir: join(dir, 'state'), socketDir: join(dir, 's'), env: {} });
    trust = issuerTrust(issuer);
    pilot = await certFromIssuer(issuer, 'pilot');
  });
  after(async () => {
    await killAll();
    await issuer.close();
    await rm(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string>): Record<string, string> => ({
    SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('nexus'),
    SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
    SPIKE_NEXUS_HEALTH_ADDR: 'off',
    SPIKE_NEXUS_BACKEND_STORE: 'memory',
    SPIKE_SYSTEM_LOG_LEVEL: 'info',
    HOME: dir,
    ...extra,
  });

  it('reopens the audit file on SIGHUP: records go on in the new file, none lost', async () => {
    const file = join(dir, 'audit.jsonl');
    const rotated = `${file}.1`;
    const keyFile = join(dir, 'audit-key.pem');
    const nexus = launch(
      NEXUS_BIN,
      env({ SPIKE_NEXUS_AUDIT_LOG: file, SPIKE_NEXUS_AUDIT_SIGNING_KEY: keyFile }),
    );
    const port = await waitForPort(nexus);
    let sent = 0;
    const burst = async (n: number): Promise<void> => {
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const r = await call(port, trust, {
            path: '/v1/store/secrets',
            body: { path: `a/${String(sent + i)}`, values: { v: 'x' } },
            client: pilot,
          });
          assert.equal(r.status, 200);
        }),
      );
      sent += n;
    };
    await burst(40);
    // logrotate `create`: rename, then signal while requests keep coming.
    const during = burst(40);
    await rename(file, rotated);
    nexus.proc.kill('SIGHUP');
    await during;
    await waitFor('the new audit file', 20_000, async () => {
      try {
        await stat(file);
        return true;
      } catch {
        return false;
      }
    });
    await burst(40);
    nexus.proc.kill('SIGTERM');
    assert.equal(await nexus.exited, 0, nexus.output());

    const before = await requestIds(rotated);
    const afterwards = await requestIds(file);
    assert.ok(before.length >= 40, 'the renamed file kept what was written before');
    assert.ok(afterwards.length >= 40, 'records go on in the new file');
    const all = [...before, ...afterwards];
    assert.equal(all.length, sent, 'one record per request, none lost');
    assert.equal(new Set(all).size, all.length, 'none twice');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.match(nexus.output(), /SIGHUP: reopening the audit log file/);

    // The renamed file ends with a `rotate` checkpoint, the new one starts with `reopen`: both
    // verify on their own and together (one chain).
    const publicKeys = [parseAuditPublicKey(await readFile(`${keyFile}.pub`, 'utf8'))];
    const old = { name: rotated, text: await readFile(rotated, 'utf8') };
    const now = { name: file, text: await readFile(file, 'utf8') };
    assert.match(old.text, /"checkpoint":"rotate"[^\n]*\n$/);
    assert.match(now.text, /^\{[^\n]*"checkpoint":"reopen"/);
    for (const files of [[old], [now], [old, now]]) {
      const result = verifyAuditChain(files, { publicKeys });
      assert.equal(result.ok, true, JSON.stringify(result.finding));
    }
    const reversed = verifyAuditChain([now, old], { publicKeys });
    assert.equal(reversed.ok, false, 'the files out of order do not form a chain');
  });

  it('refuses to start when a TLS file for the syslog aggregator is missing, naming the variable', async () => {
    const missing = join(dir, 'no-such-ca.pem');
    const nexus = launch(
      NEXUS_BIN,
      env({ SPIKE_NEXUS_AUDIT_SYSLOG: 'tls://127.0.0.1:6514', SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: missing }),
    );
    assert.equal(await nexus.exited, 2);
    assert.match(nexus.output(), /SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: must be the path of a readable file/);
    assert.ok(!nexus.output().includes(missing), 'the path is not echoed');
  });
});
