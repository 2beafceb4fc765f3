/**
 * Go gRPC + go-spiffe against our dev identity issuer: `spire-agent api fetch x509|jwt` and
 * `api validate jwt` are go-spiffe Workload API clients. Their pretty output verifies the X.509-SVID
 * with go-spiffe (`x509svid.Verify`, PKCS#8 key parsing, concatenated-DER bundles), so exit 0 and the
 * SPIFFE ID on stdout prove that Go accepts our wire format.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startDevIssuer, type DevIssuer } from '@spike-ts/dev-identity';
import { run, type RunResult } from './child-process.ts';
import { requireSpireBinaries, type SpireBinaries } from './spire-binaries.ts';

describe('go-spiffe (spire-agent api) against the dev identity issuer', () => {
  let bins: SpireBinaries;
  let dir = '';
  let issuer: DevIssuer;
  let socket = '';
  const api = (args: string[]): Promise<RunResult> =>
    run(bins.agent, ['api', ...args, '-socketPath', socket], {
      name: `spire-agent api ${args.slice(0, 2).join(' ')}`,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      timeoutMs: 30_000,
    });
  const fetchJwt = async (audience: string): Promise<string> => {
    const r = await api(['fetch', 'jwt', '-audience', audience, '-output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const [svids] = JSON.parse(r.stdout) as [{ svids: Array<{ spiffe_id: string; svid: string }> }];
    assert.equal(svids.svids[0]?.spiffe_id, 'spiffe://spike.ist/workload/demo');
    return svids.svids[0].svid;
  };

  before(async () => {
    bins = requireSpireBinaries();
    dir = await mkdtemp('/tmp/spx-');
    issuer = await startDevIssuer({ stateDir: join(dir, 'state'), socketDir: join(dir, 's'), env: {} });
    socket = issuer.sockets.get('demo')!;
  });
  after(async () => {
    await issuer?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('api fetch x509 verifies and writes our X.509-SVID, key and bundle', async () => {
    const out = join(dir, 'out');
    await mkdir(out, { mode: 0o700 });
    const r = await api(['fetch', 'x509', '-write', out]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Received 1 svid/);
    assert.match(r.stdout, /SPIFFE ID:\s+spiffe:\/\/spike\.ist\/workload\/demo/);
    const leaf = new X509Certificate(await readFile(join(out, 'svid.0.pem')));
    assert.equal(leaf.subjectAltName, 'URI:spiffe://spike.ist/workload/demo');
    const bundle = new X509Certificate(await readFile(join(out, 'bundle.0.pem')));
    assert.equal(bundle.toString(), new X509Certificate(issuer.bundlePem()).toString());
    assert.ok(leaf.verify(bundle.publicKey), 'the written SVID chains to the written bundle');
    assert.match(await readFile(join(out, 'svid.0.key'), 'utf8'), /BEGIN PRIVATE KEY/);
  });

  it('api fetch jwt gets a JWT-SVID and the JWT bundle', async () => {
    const r = await api(['fetch', 'jwt', '-audience', 'a']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /token\(spiffe:\/\/spike\.ist\/workload\/demo\):\n\s+ey/);
    assert.match(r.stdout, /bundle\(spiffe:\/\/spike\.ist\):\n\s+\{"keys":\[/);
  });

  it('api validate jwt accepts our token for its audience and rejects it for another', async () => {
    const token = await fetchJwt('a');
    const good = await api(['validate', 'jwt', '-audience', 'a', '-svid', token]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /SVID is valid\./);
    assert.match(good.stdout, /SPIFFE ID : spiffe:\/\/spike\.ist\/workload\/demo/);
    const wrong = await api(['validate', 'jwt', '-audience', 'b', '-svid', token]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr + wrong.stdout, /not valid/);
  });
});
