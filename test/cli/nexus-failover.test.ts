/**
 * Several Nexus URLs (ADR 0033), end to end: the SDK (in this process) and the real `spike`
 * binary (child processes) against two independent Nexus instances (memory backend) over real
 * mTLS with SVIDs from the dev identity issuer, plus small TLS servers for the faults a Nexus
 * does not produce: one that takes a request and drops the connection, one that presents a
 * non-Nexus SVID.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { join } from 'node:path';
import { createX509Source } from '@spike-ts/identity';
import type { X509Source } from '@spike-ts/identity';
import type { Nexus } from '@spike-ts/nexus';
import {
  createSpikeClient,
  SpikeBadRequestError,
  SpikeConnectionError,
  SpikeNotFoundError,
  SpikeUnauthorizedError,
  type SpikeClient,
} from '@spike-ts/sdk';
import { ok, runSpike, startIdentityLab, startNexus } from './cli-harness.ts';
import type { IdentityLab } from './cli-harness.ts';

/** A loopback URL nothing listens on (the port was free a moment ago). */
async function deadUrl(): Promise<string> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `https://127.0.0.1:${port}`;
}

interface FaultServer {
  readonly url: string;
  /** Requests whose headers arrived (each one reached this server). */
  requests: number;
  close(): Promise<void>;
}

/**
 * A TLS server with the SVID of `identity` that asks for a client certificate and, once a whole
 * request has arrived, destroys the connection without answering.
 */
async function startDropper(lab: IdentityLab, identity: string): Promise<FaultServer> {
  const source = await createX509Source({
    endpoint: lab.issuer.endpointFor(identity),
    env: {},
    timeoutMs: 10_000,
  });
  const svid = source.getX509Svid();
  await source.close();
  const state = { requests: 0 };
  const server: TlsServer = createTlsServer(
    {
      key: svid.privateKeyPem,
      cert: svid.certChainPem,
      ca: lab.issuer.bundlePem(),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (socket) => {
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        const end = seen.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(seen)?.[1] ?? '0');
        if (seen.length - end - 4 < length) return;
        state.requests++;
        socket.destroy();
      });
      socket.on('error', () => undefined);
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('several Nexus URLs: failover of the SDK and the CLI', () => {
  let lab: IdentityLab;
  let nexusSource: X509Source;
  let pilotSource: X509Source;
  let demoSource: X509Source;
  let a: { nexus: Nexus; url: string };
  let b: { nexus: Nexus; url: string };
  let unready: { nexus: Nexus; url: string };
  let dropper: FaultServer;
  let impostor: FaultServer;
  let onlyB: SpikeClient;
  const clients: SpikeClient[] = [];

  const sdk = async (urls: readonly string[], source = pilotSource): Promise<SpikeClient> => {
    const c = await createSpikeClient({ source, nexusUrl: urls, env: {}, timeoutMs: 10_000 });
    clients.push(c);
    return c;
  };
  const spike = (args: string[], urls: readonly string[], identity = 'pilot') =>
    runSpike(args, { env: lab.env(identity, urls.join(',')) });

  before(async () => {
    lab = await startIdentityLab();
    const open = (name: string) =>
      createX509Source({ endpoint: lab.issuer.endpointFor(name), env: {}, timeoutMs: 10_000 });
    nexusSource = await open('nexus');
    pilotSource = await open('pilot');
    demoSource = await open('demo');
    a = await startNexus(lab, nexusSource, { SPIKE_NEXUS_BACKEND_STORE: 'memory' });
    b = await startNexus(lab, nexusSource, { SPIKE_NEXUS_BACKEND_STORE: 'memory' });
    unready = await startNexus(lab, nexusSource, {
      SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
      SPIKE_NEXUS_DATA_DIR: join(lab.dir, 'unready'),
      SPIKE_NEXUS_KEEPER_PEERS: 'https://127.0.0.1:1,https://127.0.0.1:2,https://127.0.0.1:3',
    });
    dropper = await startDropper(lab, 'nexus');
    impostor = await startDropper(lab, 'keeper');
    onlyB = await sdk([b.url]);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await dropper?.close();
    await impostor?.close();
    await a?.nexus.close();
    await b?.nexus.close();
    await unready?.nexus.close();
    await demoSource?.close();
    await pilotSource?.close();
    await nexusSource?.close();
    await lab?.close();
  });

  it('first URL down: the SDK writes and reads through the second, and stays there', async () => {
    const down = await deadUrl();
    const c = await sdk([down, b.url]);
    assert.equal(c.nexusUrl, down);
    assert.deepEqual(c.nexusUrls, [down, b.url]);
    await c.putSecret('failover/sdk-down', { k: 'v1' });
    assert.equal(c.nexusUrl, b.url);
    assert.deepEqual(await c.getSecret('failover/sdk-down'), { k: 'v1' });
    // Exactly one version on the second Nexus: the write went there once.
    assert.equal((await onlyB.getSecretMetadata('failover/sdk-down')).metadata.currentVersion, 1);
  });

  it('first URL down: the CLI uses the second', async () => {
    const down = await deadUrl();
    ok(await spike(['secret', 'put', 'failover/cli-down', 'user=u1'], [down, b.url]));
    assert.equal(
      ok(await spike(['secret', 'get', 'failover/cli-down', 'user'], [down, b.url])).stdout,
      'u1\n',
    );
    assert.equal((await onlyB.getSecretMetadata('failover/cli-down')).metadata.currentVersion, 1);
    const status = ok(await spike(['status'], [down, b.url]));
    assert.match(status.stdout, new RegExp(`SPIKE Nexus {5}${b.url.replace(/\./g, '\\.')}\\n`));
  });

  it('first URL answers 503 not ready: SDK and CLI move on, also for a write', async () => {
    const c = await sdk([unready.url, b.url]);
    await c.putSecret('failover/unready', { k: 'v1' });
    assert.equal(c.nexusUrl, b.url);
    ok(await spike(['secret', 'put', 'failover/unready', 'k=v2'], [unready.url, b.url]));
    assert.equal(
      ok(await spike(['secret', 'get', 'failover/unready', 'k'], [unready.url, b.url])).stdout,
      'v2\n',
    );
    assert.equal((await onlyB.getSecretMetadata('failover/unready')).metadata.currentVersion, 2);
  });

  it('a 4xx answer is final: 404 and 401 from the first Nexus are not retried on the second', async () => {
    await onlyB.putSecret('failover/only-on-b', { k: 'b' });
    await onlyB.putPolicy({
      name: 'demo-reads-b',
      spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$',
      pathPattern: '^failover/',
      permissions: ['read'],
    });
    const pilot = await sdk([a.url, b.url]);
    await assert.rejects(pilot.getSecret('failover/only-on-b'), SpikeNotFoundError);
    assert.equal(pilot.nexusUrl, a.url);
    const demo = await sdk([a.url, b.url], demoSource);
    await assert.rejects(demo.getSecret('failover/only-on-b'), SpikeUnauthorizedError);
    const cli = await spike(['secret', 'get', 'failover/only-on-b'], [a.url, b.url]);
    assert.equal(cli.code, 3, cli.stderr);
    assert.match(cli.stderr, /not found/);
  });

  it('a write whose connection dropped after it was sent is not replayed to the second URL', async () => {
    const before = dropper.requests;
    const c = await sdk([dropper.url, b.url]);
    await assert.rejects(c.putSecret('failover/dropped-sdk', { k: 'v' }), (err: unknown) => {
      assert.ok(err instanceof SpikeConnectionError, String(err));
      assert.match(err.message, /may have reached it/);
      assert.match(err.message, /never sent twice/);
      assert.deepEqual(
        err.attempts.map((t) => t.url),
        [dropper.url],
      );
      return true;
    });
    assert.equal(dropper.requests, before + 1);
    await assert.rejects(onlyB.getSecret('failover/dropped-sdk'), SpikeNotFoundError);

    const cli = await spike(['secret', 'put', 'failover/dropped-cli', 'k=v'], [dropper.url, b.url]);
    assert.equal(cli.code, 6, cli.stderr);
    assert.match(cli.stderr, /never sent twice/);
    assert.equal(dropper.requests, before + 2);
    await assert.rejects(onlyB.getSecret('failover/dropped-cli'), SpikeNotFoundError);
  });

  it('a read whose connection dropped after it was sent is sent to the second URL', async () => {
    await onlyB.putSecret('failover/read-replayed', { k: 'from-b' });
    const before = dropper.requests;
    const c = await sdk([dropper.url, b.url]);
    assert.deepEqual(await c.getSecret('failover/read-replayed'), { k: 'from-b' });
    assert.equal(dropper.requests, before + 1);
    assert.equal(c.nexusUrl, b.url);
  });

  it('every URL checks for a Nexus SVID: a server with another SPIFFE ID gets nothing, the next URL serves', async () => {
    const c = await sdk([impostor.url, b.url]);
    await c.putSecret('failover/impostor', { k: 'v' });
    assert.equal(impostor.requests, 0);
    assert.equal((await onlyB.getSecretMetadata('failover/impostor')).metadata.currentVersion, 1);
  });

  it('all URLs down: one clear error naming every URL and why', async () => {
    const [d1, d2] = [await deadUrl(), await deadUrl()];
    const c = await sdk([d1, d2]);
    await assert.rejects(c.getSecret('failover/x'), (err: unknown) => {
      assert.ok(err instanceof SpikeConnectionError, String(err));
      assert.deepEqual(
        err.attempts.map((t) => t.url),
        [d1, d2],
      );
      assert.match(err.message, /any of its 2 URLs/);
      for (const d of [d1, d2]) assert.ok(err.message.includes(`${d} (`), err.message);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
    const cli = await spike(['secret', 'get', 'failover/x'], [d1, d2]);
    assert.equal(cli.code, 6, cli.stderr);
    for (const d of [d1, d2]) assert.ok(cli.stderr.includes(d), cli.stderr);
  });

  it('bad lists are refused before anything is sent, naming SPIKE_NEXUS_API_URL', async () => {
    for (const value of [`${b.url},,${a.url}`, `${b.url},${b.url}/`, `${b.url},http://127.0.0.1:1`]) {
      await assert.rejects(
        createSpikeClient({ source: pilotSource, env: { SPIKE_NEXUS_API_URL: value } }),
        (err: unknown) =>
          err instanceof SpikeBadRequestError && /^SPIKE_NEXUS_API_URL: entry 2 /.test(err.message),
      );
      const cli = await runSpike(['secret', 'list'], { env: lab.env('pilot', value) });
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(cli.stderr, /SPIKE_NEXUS_API_URL: entry 2 (is empty|is a duplicate of entry 1|must be)/);
    }
    await assert.rejects(
      createSpikeClient({ source: pilotSource, nexusUrl: [b.url, `${b.url}/`], env: {} }),
      (err: unknown) => err instanceof SpikeBadRequestError && /duplicate of entry 1/.test(err.message),
    );
  });
});
