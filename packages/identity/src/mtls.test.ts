import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { bundlesFromCas, createCa, issueSvid, svidFromMinted } from './mint.ts';
import type { MintedCa, MintedSvid } from './mint.ts';
import { createMtlsServer } from './mtls-server.ts';
import { getPeerSpiffeId, getVerifiedPeer, verifyTlsPeer, PeerNotAuthorizedError } from './mtls.ts';
import type { MtlsLogger } from './mtls.ts';
import {
  MtlsConnectionError,
  MtlsResponseTooLargeError,
  MtlsTimeoutError,
  createMtlsClient,
} from './mtls-client.ts';
import type { MtlsClient, MtlsClientOptions } from './mtls-client.ts';
import { DEFAULT_TRUST_ROOTS, isKeeper, isNexus, isPilotSuperuser, roleSpiffeId } from './roles.ts';
import type { SpiffeId } from './spiffe-id.ts';
import { createStaticX509Source } from './static-source.ts';
import type { StaticX509Source } from './static-source.ts';
import { SvidValidationError } from './svid.ts';
import type { X509Bundles } from './types.ts';

const TD = 'spike.ist';
const NEXUS = roleSpiffeId('nexus', TD);
const KEEPER = roleSpiffeId('keeper', TD);
const PILOT = roleSpiffeId('pilot/role/superuser', TD);
const nexusOnly = (id: SpiffeId): boolean => isNexus(id, DEFAULT_TRUST_ROOTS);
const pilotOnly = (id: SpiffeId): boolean => isPilotSuperuser(id, DEFAULT_TRUST_ROOTS);

interface LogRecord {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

function captureLogger(): MtlsLogger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    records,
    debug: (msg, fields) => records.push({ level: 'debug', msg, fields }),
    warn: (msg, fields) => records.push({ level: 'warn', msg, fields }),
  };
}

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function listen(server: https.Server, port = 0): Promise<string> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => closeServer(server));
  return `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

async function closeServer(server: https.Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

function source(svid: MintedSvid, bundles: X509Bundles): StaticX509Source {
  const s = createStaticX509Source(svidFromMinted(svid), bundles);
  cleanups.push(() => s.close());
  return s;
}

function client(src: StaticX509Source, opts: MtlsClientOptions): MtlsClient {
  const c = createMtlsClient(src, opts);
  cleanups.push(() => c.close());
  return c;
}

/** Handler that reports what the server saw about its peer. */
function echoHandler(calls: { n: number }): http.RequestListener {
  return (req, res) => {
    calls.n++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const peer = getVerifiedPeer(req);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          peer: getPeerSpiffeId(req)?.toString(),
          clientSerial: peer?.serialHex,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
  };
}

async function expectConnectionError(p: Promise<unknown>, url: string): Promise<MtlsConnectionError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof MtlsConnectionError, `expected MtlsConnectionError, got ${String(err)}`);
    assert.equal(err.url, url);
    assert.ok(err.message.includes(url));
    return err;
  }
  assert.fail('request unexpectedly succeeded');
}

describe('mTLS server and client', () => {
  let root: MintedCa;
  let foreign: MintedCa;
  let bundles: X509Bundles;
  let nexus: MintedSvid;
  let pilot: MintedSvid;
  let keeper: MintedSvid;
  let url: string;
  const calls = { n: 0 };
  const serverLog = captureLogger();

  before(async () => {
    root = await createCa({ trustDomain: TD });
    foreign = await createCa({ trustDomain: 'other.test' });
    bundles = bundlesFromCas([root, foreign]);
    nexus = await issueSvid(root, { spiffeId: NEXUS });
    pilot = await issueSvid(root, { spiffeId: PILOT });
    keeper = await issueSvid(root, { spiffeId: KEEPER });
    const server = createMtlsServer(
      source(nexus, bundles),
      { authorizePeer: pilotOnly, logger: serverLog },
      echoHandler(calls),
    );
    url = await listen(server);
  });

  /** Runs a request as `svid` and expects the server to refuse it with a log matching `reason`. */
  async function expectServerRejects(svid: MintedSvid, reason: RegExp): Promise<void> {
    const before = calls.n;
    serverLog.records.length = 0;
    const c = client(source(svid, bundles), { authorizeServer: nexusOnly });
    await expectConnectionError(c.request(url + '/x', { method: 'POST', body: 'secret' }), url + '/x');
    assert.equal(calls.n, before, 'handler must not run');
    const warned = serverLog.records.filter((r) => r.level === 'warn').map((r) => String(r.fields?.reason));
    assert.ok(
      warned.some((r) => reason.test(r)),
      `server log should match ${reason}: ${JSON.stringify(warned)}`,
    );
  }

  it('lets an authorized peer in and tells both sides who the other is', async () => {
    const c = client(source(pilot, bundles), { authorizeServer: nexusOnly });
    const res = await c.request(url + '/v1/store/secrets?action=get', {
      method: 'POST',
      body: '{"path":"a"}',
    });
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body.toString()) as { peer: string; clientSerial: string; body: string };
    assert.equal(body.peer, PILOT);
    assert.equal(body.clientSerial, pilot.serialHex);
    assert.equal(body.body, '{"path":"a"}');
    assert.equal(res.peer.id.toString(), NEXUS);
    assert.equal(res.peer.serialHex, nexus.serialHex);
    assert.equal(getPeerSpiffeId(new net.Socket()), undefined);
  });

  it('rejects a client without a certificate, and TLS 1.2', async () => {
    const before = calls.n;
    for (const extra of [{}, { maxVersion: 'TLSv1.2' as const, key: pilot.keyPem, cert: pilot.certPem }]) {
      const err = await new Promise<Error | undefined>((resolve) => {
        const req = https.request(
          url,
          { method: 'GET', ca: root.certPem, checkServerIdentity: () => undefined, agent: false, ...extra },
          (res) => {
            res.resume();
            res.on('end', () => resolve(undefined));
          },
        );
        req.on('error', resolve);
        req.end();
      });
      assert.ok(err instanceof Error, 'request must fail');
    }
    assert.equal(calls.n, before);
  });

  it('rejects a CA-flagged leaf', async () => {
    await expectServerRejects(
      await issueSvid(root, { spiffeId: PILOT, isCa: true }),
      /must not have CA flag/,
    );
  });

  it('rejects a leaf with keyCertSign', async () => {
    await expectServerRejects(
      await issueSvid(root, { spiffeId: PILOT, keyUsages: ['digitalSignature', 'keyCertSign'] }),
      /'keyCertSign'/,
    );
  });

  it("rejects a leaf signed by another trust domain's root that claims ours", async () => {
    await expectServerRejects(await issueSvid(foreign, { spiffeId: PILOT }), /does not lead to a root/);
  });

  it('rejects a leaf from another CA of our own trust domain and logs why (no alert is possible)', async () => {
    const before = calls.n;
    const otherCa = await createCa({ trustDomain: TD });
    const stranger = await issueSvid(otherCa, { spiffeId: PILOT });
    // The chain fails OpenSSL's own verification, so Node drops it before our checks run; the
    // server's log is the only place the reason can show (docs/compatibility.md, D18).
    const warned = new Promise<string>((resolve) => {
      const log: MtlsLogger = {
        debug: (msg, fields) => resolve(`${msg}: ${String(fields?.['reason'])}`),
        warn: (msg, fields) => resolve(`${msg}: ${String(fields?.['reason'])}`),
      };
      const server = createMtlsServer(source(nexus, bundles), { logger: log }, echoHandler(calls));
      cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
      void listen(server).then((u) => {
        const c = client(source(stranger, bundles), { authorizeServer: nexusOnly });
        void expectConnectionError(c.request(u + '/x', { method: 'POST', body: 'secret' }), u + '/x');
      });
    });
    assert.match(await warned, /^mTLS client rejected: client certificate not verified: [A-Z_]+$/);
    assert.equal(calls.n, before, 'handler must not run');
  });

  it('rejects a peer with the wrong role', async () => {
    await expectServerRejects(keeper, /"spiffe:\/\/spike\.ist\/spike\/keeper" is not authorized/);
    await expectServerRejects(await issueSvid(root, { spiffeId: PILOT + '-evil' }), /is not authorized/);
  });

  it('rejects an expired SVID (in OpenSSL, and in our own check)', async () => {
    const t = Date.now();
    const expired = await issueSvid(root, {
      spiffeId: PILOT,
      notBefore: new Date(t - 7200_000),
      notAfter: new Date(t - 3600_000),
    });
    const before = calls.n;
    const c = client(source(expired, bundles), { authorizeServer: nexusOnly });
    await expectConnectionError(c.request(url), url);
    assert.equal(calls.n, before);

    // A server whose clock is past the client's notAfter: OpenSSL accepts, our check does not.
    const log = captureLogger();
    const late = createMtlsServer(
      source(nexus, bundles),
      { authorizePeer: pilotOnly, logger: log, now: () => new Date(pilot.notAfter.getTime() + 1000) },
      echoHandler(calls),
    );
    const lateUrl = await listen(late);
    const c2 = client(source(pilot, bundles), { authorizeServer: nexusOnly });
    await expectConnectionError(c2.request(lateUrl), lateUrl);
    assert.equal(calls.n, before);
    assert.ok(log.records.some((r) => /leaf certificate has expired/.test(String(r.fields?.reason))));
  });

  it('the client refuses a server with the wrong role before sending anything', async () => {
    const before = calls.n;
    const c = client(source(pilot, bundles), { authorizeServer: (id) => isKeeper(id, DEFAULT_TRUST_ROOTS) });
    const err = await expectConnectionError(c.request(url, { method: 'POST', body: 'secret' }), url);
    assert.ok(err.cause instanceof PeerNotAuthorizedError);
    assert.match(err.message, /server SPIFFE ID "spiffe:\/\/spike\.ist\/spike\/nexus" is not authorized/);
    assert.equal(calls.n, before);
  });

  it("the client refuses a server whose SVID comes from another trust domain's root", async () => {
    const forged = await issueSvid(foreign, { spiffeId: NEXUS });
    const server = createMtlsServer(source(forged, bundles), {}, echoHandler(calls));
    const forgedUrl = await listen(server);
    const before = calls.n;
    const c = client(source(pilot, bundles), { authorizeServer: nexusOnly });
    const err = await expectConnectionError(c.request(forgedUrl), forgedUrl);
    assert.ok(err.cause instanceof SvidValidationError);
    assert.equal(calls.n, before);
  });

  it('limits response size, enforces the deadline and names the unreachable URL', async () => {
    const big = Buffer.alloc(4096, 0x61);
    const server = createMtlsServer(source(nexus, bundles), {}, (req, res) => {
      if (req.url === '/stall') return; // never answers
      if (req.url === '/chunked') {
        res.write(big);
        res.end(big);
        return;
      }
      res.end(big);
    });
    const base = await listen(server);
    const c = client(source(pilot, bundles), { authorizeServer: nexusOnly, maxResponseBytes: 4096 });
    assert.equal((await c.request(base + '/ok')).body.length, 4096);
    await assert.rejects(
      c.request(base + '/chunked'),
      (err: unknown) => err instanceof MtlsResponseTooLargeError && err.url === base + '/chunked',
    );
    const small = client(source(pilot, bundles), { authorizeServer: nexusOnly, maxResponseBytes: 100 });
    await assert.rejects(small.request(base + '/ok'), MtlsResponseTooLargeError);
    await assert.rejects(
      c.request(base + '/stall', { timeoutMs: 200 }),
      (err: unknown) =>
        err instanceof MtlsTimeoutError && err.url === base + '/stall' && err.timeoutMs === 200,
    );

    const gone = createMtlsServer(source(nexus, bundles), {}, echoHandler(calls));
    const goneUrl = await listen(gone);
    await closeServer(gone);
    const err = await expectConnectionError(c.request(goneUrl + '/v1'), goneUrl + '/v1');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    await assert.rejects(c.request('http://127.0.0.1:1/'), /only https/);
    c.close();
    await expectConnectionError(c.request(base + '/ok'), base + '/ok');
  });
});

describe('TLS session resumption', () => {
  it('a resumed session with a server that now has the wrong ID is rejected by the client', async () => {
    const root = await createCa({ trustDomain: TD });
    const bundles = bundlesFromCas([root]);
    const nexus = await issueSvid(root, { spiffeId: NEXUS });
    const impostor = await issueSvid(root, { spiffeId: KEEPER });
    const pilot = await issueSvid(root, { spiffeId: PILOT });
    // Two plain servers on the same port sharing ticket keys, so a cached session resumes.
    const ticketKeys = randomBytes(48);
    const received: string[] = [];
    const plain = (svid: MintedSvid): https.Server =>
      https.createServer(
        {
          key: svid.keyPem,
          cert: svid.certPem,
          ca: root.certPem,
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.3',
          ticketKeys,
        },
        (req, res) => {
          req.setEncoding('utf8');
          let body = '';
          req.on('data', (c: string) => (body += c));
          req.on('end', () => {
            received.push(body);
            res.end('ok');
          });
        },
      );
    const first = plain(nexus);
    const url = await listen(first);
    const port = Number(new URL(url).port);

    // Control: an ordinary agent with a session cache, checking the ID in checkServerIdentity.
    const naive = new https.Agent({
      keepAlive: false,
      key: pilot.keyPem,
      cert: pilot.certPem,
      ca: root.certPem,
      checkServerIdentity: (_h, cert) =>
        cert.subjectaltname === `URI:${NEXUS}` ? undefined : new Error('not nexus'),
    });
    cleanups.push(() => naive.destroy());
    const naiveRequest = (body: string): Promise<boolean> =>
      new Promise((resolve, reject) => {
        const req = https.request(url, { method: 'POST', agent: naive }, (res) => {
          const reused = (res.socket as tls.TLSSocket).isSessionReused();
          res.resume();
          res.on('end', () => resolve(reused));
        });
        req.on('error', reject);
        req.end(body);
      });

    const ours = client(source(pilot, bundles), { authorizeServer: nexusOnly, keepAlive: false });
    assert.equal((await ours.request(url, { method: 'POST', body: 'ours-1' })).status, 200);
    assert.equal(await naiveRequest('naive-1'), false);

    await closeServer(first);
    const second = plain(impostor);
    await listen(second, port);

    // The control resumes its session with the impostor and hands over its request.
    assert.equal(await naiveRequest('naive-2'), true);
    assert.deepEqual(received, ['ours-1', 'naive-1', 'naive-2']);
    // Our client does a full handshake, sees the keeper ID and sends nothing.
    const err = await expectConnectionError(ours.request(url, { method: 'POST', body: 'ours-2' }), url);
    assert.ok(err.cause instanceof PeerNotAuthorizedError);
    assert.deepEqual(received, ['ours-1', 'naive-1', 'naive-2']);
  });

  it('the per-connection peer check fails closed on a resumed client session', async () => {
    const root = await createCa({ trustDomain: TD });
    const bundles = bundlesFromCas([root]);
    const nexus = await issueSvid(root, { spiffeId: NEXUS });
    const pilot = await issueSvid(root, { spiffeId: PILOT });
    const server = tls.createServer(
      {
        key: nexus.keyPem,
        cert: nexus.certPem,
        ca: root.certPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.3',
      },
      (s) => s.end('hi'),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as net.AddressInfo).port;
    let session: Buffer | undefined;
    const results: { reused: boolean; verdict: string }[] = [];
    for (let i = 0; i < 2; i++) {
      const s = tls.connect({
        host: '127.0.0.1',
        port,
        key: pilot.keyPem,
        cert: pilot.certPem,
        ca: root.certPem,
        checkServerIdentity: () => undefined,
        session,
      });
      s.on('session', (x: Buffer) => (session = x));
      s.resume();
      await once(s, 'secureConnect');
      let verdict: string;
      try {
        verdict = verifyTlsPeer(s, bundles, nexusOnly, 'server').id.toString();
      } catch (err) {
        verdict = (err as Error).message;
      }
      results.push({ reused: s.isSessionReused(), verdict });
      await once(s, 'end');
      s.destroy();
    }
    assert.deepEqual(results, [
      { reused: false, verdict: NEXUS },
      { reused: true, verdict: 'peer presented no certificate' },
    ]);
  });
});

describe('SVID rotation', () => {
  it('keeps serving keep-alive traffic while both sides rotate, and new connections use the new certificates', async () => {
    const root1 = await createCa({ trustDomain: TD });
    const root2 = await createCa({ trustDomain: TD });
    const bundles1 = bundlesFromCas([root1]);
    const bundles2 = bundlesFromCas([root1, root2]); // CA rotation: new root added to the bundle
    const serverSource = source(await issueSvid(root1, { spiffeId: NEXUS }), bundles1);
    const clientSource = source(await issueSvid(root1, { spiffeId: PILOT }), bundles1);
    const connections = { n: 0 };
    const server = createMtlsServer(serverSource, { authorizePeer: pilotOnly }, (req, res) => {
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ clientSerial: getVerifiedPeer(req)?.serialHex })));
    });
    server.on('secureConnection', () => connections.n++);
    const url = await listen(server);
    const c = client(clientSource, { authorizeServer: nexusOnly, keepAlive: true, maxSockets: 2 });

    let stop = false;
    let completed = 0;
    const failures: unknown[] = [];
    const loop = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await c.request(url, { method: 'POST', body: 'tick' });
          if (res.status !== 200) failures.push(new Error(`status ${res.status}`));
          completed++;
        } catch (err) {
          failures.push(err);
        }
      }
    };
    const waitForTraffic = async (count: number): Promise<void> => {
      const target = completed + count;
      const giveUp = Date.now() + 60_000; // hang guard only
      while (completed < target && failures.length === 0 && Date.now() < giveUp) {
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const loops = [loop(), loop()];
    try {
      for (let round = 1; round <= 4; round++) {
        await waitForTraffic(20);
        const ca = round >= 3 ? root2 : root1;
        const bundles = round >= 3 ? bundles2 : bundles1;
        const serverSvid = await issueSvid(ca, { spiffeId: NEXUS });
        const clientSvid = await issueSvid(ca, { spiffeId: PILOT });
        serverSource.update(svidFromMinted(serverSvid), bundles);
        clientSource.update(svidFromMinted(clientSvid), bundles);
        // The next request goes through a fresh agent, hence a new connection with new certs.
        const res = await c.request(url, { method: 'POST', body: 'probe' });
        assert.equal(
          res.peer.serialHex,
          serverSvid.serialHex,
          `round ${round}: client saw the new server certificate`,
        );
        const seen = JSON.parse(res.body.toString()) as { clientSerial: string };
        assert.equal(
          seen.clientSerial,
          clientSvid.serialHex,
          `round ${round}: server saw the new client certificate`,
        );
      }
      await waitForTraffic(20);
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    assert.deepEqual(failures, []);
    assert.ok(completed >= 100, `completed ${completed}`);
    // Keep-alive is in use: far fewer connections than requests.
    assert.ok(connections.n <= 2 * 5 + 4, `connections ${connections.n} for ${completed} requests`);
  });
});
