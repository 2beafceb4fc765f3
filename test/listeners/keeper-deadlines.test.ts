/**
 * The keeper's mTLS listener cuts misbehaving connections close to the configured time (1 s header
 * and handshake timeouts, 2 s request timeout here), and caps the connections it holds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@spike-ts/core';
import { createStaticX509Source, trustRootsFromEnv } from '@spike-ts/identity';
import { bundlesFromCas, createCa, issueSvid, svidFromMinted } from '@spike-ts/identity/mint';
import { createKeeperServer, type KeeperServer } from '@spike-ts/keeper';
import { closedWithin, openMany, openRaw, openTls } from './slow-clients.ts';

const HEADERS_MS = 1000;
const REQUEST_MS = 2000;
const HANDSHAKE_MS = 1000;
const SLACK_MS = 3000;
const MAX_CONNECTIONS = 8;

describe('keeper listener deadlines and cap', () => {
  let keeper: KeeperServer;
  let port: number;
  let caPem: string;
  let nexus: { keyPem: string; certPem: string };
  let keeperSource: ReturnType<typeof createStaticX509Source>;
  const cleanups: (() => unknown)[] = [];

  before(async () => {
    const ca = await createCa({ trustDomain: 'spike.ist' });
    caPem = ca.certPem;
    const own = await issueSvid(ca, { spiffeId: 'spiffe://spike.ist/spike/keeper/k1' });
    const source = createStaticX509Source(svidFromMinted(own), bundlesFromCas([ca]));
    keeperSource = source;
    cleanups.push(() => source.close());
    nexus = await issueSvid(ca, { spiffeId: 'spiffe://spike.ist/spike/nexus' });
    keeper = createKeeperServer({
      source,
      trustRoots: trustRootsFromEnv({}),
      logger: silentLogger,
      headersTimeoutMs: HEADERS_MS,
      requestTimeoutMs: REQUEST_MS,
      handshakeTimeoutMs: HANDSHAKE_MS,
      maxConnections: MAX_CONNECTIONS,
    });
    port = (await keeper.listen(0, '127.0.0.1')).port;
  });
  after(async () => {
    await keeper.close();
    for (const c of cleanups) await c();
  });

  const asNexus = () => openTls(port, { caPem, keyPem: nexus.keyPem, certPem: nexus.certPem });

  it('closes a TCP connection that never starts the handshake', async () => {
    const since = Date.now();
    const socket = await openRaw(port);
    await closedWithin(socket, since, HANDSHAKE_MS + SLACK_MS, 'no ClientHello');
  });

  it('closes a verified connection that sends no request', async () => {
    const socket = await asNexus();
    await closedWithin(socket, Date.now(), HEADERS_MS + SLACK_MS, 'idle after the handshake');
  });

  it('closes a connection whose headers stop half-way', async () => {
    const socket = await asNexus();
    const since = Date.now();
    socket.write('POST /v1/store/shard HTTP/1.1\r\nHost: keeper\r\n');
    await closedWithin(socket, since, HEADERS_MS + SLACK_MS, 'half the headers');
  });

  it('closes a connection whose body stops half-way', async () => {
    const socket = await asNexus();
    const since = Date.now();
    socket.write(
      'POST /v1/store/contribute HTTP/1.1\r\nHost: keeper\r\nContent-Length: 200\r\n\r\n{"shard":[',
    );
    await closedWithin(socket, since, REQUEST_MS + SLACK_MS, 'half the body');
  });

  it(`holds at most ${String(MAX_CONNECTIONS)} connections; the rest are closed at once`, async () => {
    // A keeper whose handshake timeout cannot close anything while we count.
    const patient = createKeeperServer({
      source: keeperSource,
      trustRoots: trustRootsFromEnv({}),
      logger: silentLogger,
      handshakeTimeoutMs: 60_000,
      maxConnections: MAX_CONNECTIONS,
    });
    const patientPort = (await patient.listen(0, '127.0.0.1')).port;
    try {
      const { opened } = await openMany(30, () => openRaw(patientPort));
      const closed = await Promise.all(
        opened.map((s) =>
          closedWithin(s, Date.now(), SLACK_MS, 'flood').then(
            () => true,
            () => false,
          ),
        ),
      );
      const kept = closed.filter((c) => !c).length;
      assert.equal(kept, MAX_CONNECTIONS, `${String(kept)} connections stayed open`);
      for (const s of opened) s.destroy();
    } finally {
      await patient.close();
    }
  });
});
