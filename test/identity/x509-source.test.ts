/**
 * `createX509Source` (identity) against a real Workload API: the dev identity issuer's sockets
 * and hand-made gRPC servers for rotation, reconnect and malformed answers.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startDevIssuer } from '@spike-ts/dev-identity';
import {
  certificateSerialHex,
  concatDer,
  createX509Source,
  loadWorkloadApi,
  sourceTimeoutMs,
  silentIdentityLogger,
} from '@spike-ts/identity';
import { createCa, issueSvid } from '@spike-ts/identity/mint';
import type { IdentityLogger, X509Source, X509SvidResponseMessage } from '@spike-ts/identity';
import type { MintedCa } from '@spike-ts/identity/mint';

const IDENTITIES = [{ name: 'nexus', spiffeId: 'spiffe://spike.ist/spike/nexus' }];

function serialOf(source: X509Source): string {
  return certificateSerialHex(source.getX509Svid().certChainDer[0]!);
}

/** Resolves on the next onUpdate call (rejects after `ms`). */
function nextUpdate(source: X509Source, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no update within ${ms} ms`));
    }, ms);
    const off = source.onUpdate(() => {
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

function tempDir(): string {
  return fs.mkdtempSync('/tmp/spx-');
}

describe('createX509Source against the dev issuer', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('fetches a valid SVID and a bundle that contains the CA', async () => {
    const tmp = tempDir();
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const issuer = await startDevIssuer({
      stateDir: path.join(tmp, 'st'),
      socketDir: path.join(tmp, 's'),
      identities: IDENTITIES,
    });
    cleanups.push(() => issuer.close());
    const source = await createX509Source({
      env: { SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('nexus') },
      timeoutMs: 10_000,
    });
    cleanups.push(() => source.close());
    const svid = source.getX509Svid();
    assert.equal(svid.spiffeId, 'spiffe://spike.ist/spike/nexus');
    assert.ok(svid.notAfter.getTime() > Date.now());
    assert.match(svid.certChainPem, /^-----BEGIN CERTIFICATE-----/);
    assert.match(svid.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
    const roots = source.getX509Bundles().get('spike.ist');
    assert.ok(roots !== undefined && roots.length === 1);
    const ca = new (await import('node:crypto')).X509Certificate(Buffer.from(roots[0]!));
    assert.equal(ca.toString(), issuer.bundlePem());
    const leaf = new (await import('node:crypto')).X509Certificate(svid.certChainPem);
    assert.ok(leaf.verify(ca.publicKey));
    await source.close();
    assert.throws(() => source.getX509Svid(), /closed/);
  });

  it('delivers rotations: on rotateNow() and by itself at half the SVID lifetime', async () => {
    const tmp = tempDir();
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const issuer = await startDevIssuer({
      stateDir: path.join(tmp, 'st'),
      socketDir: path.join(tmp, 's'),
      identities: IDENTITIES,
      svidTtlMs: 5000,
    });
    cleanups.push(() => issuer.close());
    const source = await createX509Source({ endpoint: issuer.endpointFor('nexus'), timeoutMs: 10_000 });
    cleanups.push(() => source.close());
    const first = serialOf(source);
    const manual = nextUpdate(source, 5000);
    await issuer.rotateNow();
    await manual;
    const second = serialOf(source);
    assert.notEqual(second, first);
    // Automatic renewal: 5 s TTL → renewed after ~2.5 s (+ jitter).
    await nextUpdate(source, 8000);
    const third = serialOf(source);
    assert.notEqual(third, second);
    assert.ok(source.getX509Svid().notAfter.getTime() > Date.now() + 1000);
  });

  it('reconnects after the issuer restarts and keeps trusting the same CA', async () => {
    const tmp = tempDir();
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const opts = { stateDir: path.join(tmp, 'st'), socketDir: path.join(tmp, 's'), identities: IDENTITIES };
    const issuerA = await startDevIssuer(opts);
    const warnings: string[] = [];
    const logger: IdentityLogger = {
      debug: () => {},
      info: () => {},
      warn: (m) => warnings.push(m),
      error: (m) => warnings.push(m),
    };
    const source = await createX509Source({
      endpoint: issuerA.endpointFor('nexus'),
      timeoutMs: 10_000,
      logger,
    });
    cleanups.push(() => source.close());
    const before = serialOf(source);
    const rootsBefore = source
      .getX509Bundles()
      .get('spike.ist')!
      .map((d) => Buffer.from(d).toString('hex'));
    await issuerA.close();
    const issuerB = await startDevIssuer(opts);
    cleanups.push(() => issuerB.close());
    await nextUpdate(source, 15_000);
    assert.notEqual(serialOf(source), before, 'a fresh SVID from the restarted issuer');
    const rootsAfter = source
      .getX509Bundles()
      .get('spike.ist')!
      .map((d) => Buffer.from(d).toString('hex'));
    assert.deepEqual(rootsAfter, rootsBefore);
    assert.ok(
      warnings.some((w) => /cannot get an X\.509-SVID/.test(w)),
      'the interruption was logged',
    );
  });
});

describe('createX509Source failure modes', () => {
  it('says once that the socket does not exist, then retries quietly with a slow reminder', async () => {
    const tmp = tempDir();
    try {
      const socket = path.join(tmp, 'no-agent.sock');
      const lines: { level: string; msg: string }[] = [];
      let retries = 0;
      let enough: () => void = () => undefined;
      const reached = new Promise<void>((resolve) => (enough = resolve));
      const record =
        (level: string) =>
        (msg: string): void => {
          lines.push({ level, msg });
          if (level === 'debug' && ++retries >= 5) enough();
        };
      const logger: IdentityLogger = {
        debug: record('debug'),
        info: record('info'),
        warn: record('warn'),
        error: record('error'),
      };
      const pending = createX509Source({
        endpoint: `unix://${socket}`,
        timeoutMs: 8_000,
        logger,
        backoffStepMs: 5,
        backoffMaxMs: 5,
        reminderMs: 3_600_000,
      });
      const gaveUp = (what: string) => (err: unknown) => {
        throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      };
      await Promise.race([
        reached,
        pending.then(() => assert.fail('an SVID?'), gaveUp('timed out before 5 retries')),
      ]);
      const warns = lines.filter((l) => l.level === 'warn');
      assert.equal(warns.length, 1, JSON.stringify(warns));
      assert.match(warns[0]?.msg ?? '', new RegExp(`socket ${socket.replace(/[.]/g, '\\.')} does not exist`));
      assert.match(warns[0]?.msg ?? '', /npx spike-dev-identity/);
      assert.match(warns[0]?.msg ?? '', /SPIFFE_ENDPOINT_SOCKET/);

      // With a short reminder interval the reminder repeats (and says how long it has been).
      const reminders: string[] = [];
      let seen: () => void = () => undefined;
      const two = new Promise<void>((resolve) => (seen = resolve));
      const quick = createX509Source({
        endpoint: `unix://${socket}`,
        timeoutMs: 8_000,
        backoffStepMs: 5,
        backoffMaxMs: 5,
        reminderMs: 1,
        logger: {
          debug: () => undefined,
          info: () => undefined,
          error: () => undefined,
          warn: (m) => {
            reminders.push(m);
            if (reminders.length >= 3) seen();
          },
        },
      });
      await Promise.race([
        two,
        quick.then(() => assert.fail('an SVID?'), gaveUp('timed out before 3 warnings')),
      ]);
      assert.match(
        reminders[1] ?? '',
        /^still no SPIFFE Workload API at unix:\/\/.*no-agent\.sock \(for .*\); retrying$/,
      );
      // Both give up at their first-SVID timeout, which closes them.
      await assert.rejects(pending, /timed out after 8s/);
      await assert.rejects(quick, /timed out after 8s/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('times out with a message that names the socket and what to check', async () => {
    const tmp = tempDir();
    try {
      const socket = path.join(tmp, 'nobody-home.sock');
      const started = Date.now();
      await assert.rejects(
        createX509Source({ endpoint: `unix://${socket}`, timeoutMs: 1200 }),
        (err: Error) => {
          assert.match(err.message, /timed out after 1s/);
          assert.ok(err.message.includes(`unix://${socket}`), err.message);
          assert.match(err.message, /dev identity issuer/);
          assert.match(err.message, /SPIFFE_ENDPOINT_SOCKET/);
          assert.match(err.message, /permission/);
          assert.match(err.message, /registration entry/);
          assert.match(err.message, /UNAVAILABLE/);
          return true;
        },
      );
      assert.ok(Date.now() - started < 10_000, 'does not hang');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('rejects (does not throw) for a malformed endpoint', async () => {
    const pending = createX509Source({ env: { SPIFFE_ENDPOINT_SOCKET: 'tcp://localhost:1' } });
    await assert.rejects(
      pending,
      /invalid Workload API endpoint "tcp:\/\/localhost:1": host must be an IP address/,
    );
  });

  it('takes the timeout from SPIKE_SPIFFE_SOURCE_TIMEOUT and says when the default socket was used', async () => {
    assert.equal(sourceTimeoutMs(undefined, {}), 30_000);
    assert.equal(sourceTimeoutMs(undefined, { SPIKE_SPIFFE_SOURCE_TIMEOUT: '1m' }), 60_000);
    assert.equal(sourceTimeoutMs(2000, { SPIKE_SPIFFE_SOURCE_TIMEOUT: '1m' }), 2000);
    assert.throws(
      () => sourceTimeoutMs(undefined, { SPIKE_SPIFFE_SOURCE_TIMEOUT: 'soon' }),
      /invalid duration/,
    );
    assert.throws(() => sourceTimeoutMs(undefined, { SPIKE_SPIFFE_SOURCE_TIMEOUT: '0' }), /positive/);
    if (fs.existsSync('/tmp/spire-agent/public/api.sock')) return; // a real agent owns the default path here
    await assert.rejects(
      createX509Source({ env: { SPIKE_SPIFFE_SOURCE_TIMEOUT: '600ms' } }),
      (err: Error) =>
        /timed out after 600ms/.test(err.message) &&
        /\/tmp\/spire-agent\/public\/api\.sock \(the default/.test(err.message),
    );
  });
});

/** A scripted Workload API server: each FetchX509SVID call runs the next script step. */
class FakeAgent {
  readonly server = new grpc.Server();
  calls = 0;
  readonly steps: Array<(call: grpc.ServerWritableStream<unknown, X509SvidResponseMessage>) => void> = [];
  socket = '';

  async start(dir: string): Promise<void> {
    this.socket = path.join(dir, 'agent.sock');
    this.server.addService(loadWorkloadApi().service, {
      FetchX509SVID: (call: grpc.ServerWritableStream<unknown, X509SvidResponseMessage>) => {
        const step = this.steps[Math.min(this.calls, this.steps.length - 1)];
        this.calls += 1;
        step?.(call);
      },
    });
    await new Promise<void>((resolve, reject) =>
      this.server.bindAsync(`unix://${this.socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

async function svidMessage(
  ca: MintedCa,
  spiffeId: string,
  federated: Record<string, Uint8Array> = {},
): Promise<X509SvidResponseMessage> {
  const svid = await issueSvid(ca, { spiffeId });
  return {
    svids: [
      {
        spiffe_id: spiffeId,
        x509_svid: concatDer([svid.certDer]),
        x509_svid_key: svid.keyPkcs8Der,
        bundle: ca.certDer,
        hint: 'h',
      },
    ],
    crl: [],
    federated_bundles: federated,
  };
}

describe('createX509Source against a scripted agent', () => {
  let ca: MintedCa;
  let other: MintedCa;
  before(async () => {
    ca = await createCa({ trustDomain: 'example.test' });
    other = await createCa({ trustDomain: 'other.test' });
  });

  it('ignores an invalid message, keeps the previous SVID, and publishes federated bundles', async () => {
    const tmp = tempDir();
    const agent = new FakeAgent();
    let source: X509Source | undefined;
    try {
      const good1 = await svidMessage(ca, 'spiffe://example.test/app', {
        'spiffe://other.test': other.certDer,
      });
      const good2 = await svidMessage(ca, 'spiffe://example.test/app');
      const bad = await svidMessage(ca, 'spiffe://example.test/app');
      bad.svids[0]!.spiffe_id = 'spiffe://example.test/someone-else';
      let sendRest: () => void = () => {};
      agent.steps.push((call) => {
        call.write(good1);
        sendRest = () => {
          call.write(bad);
          setTimeout(() => call.write(good2), 300);
        };
      });
      await agent.start(tmp);
      const warnings: string[] = [];
      const logger: IdentityLogger = {
        debug: () => {},
        info: () => {},
        warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`),
        error: () => {},
      };
      source = await createX509Source({ endpoint: `unix://${agent.socket}`, timeoutMs: 10_000, logger });
      assert.equal(source.getX509Svid().hint, 'h');
      assert.deepEqual([...source.getX509Bundles().keys()].sort(), ['example.test', 'other.test']);
      const firstSerial = serialOf(source);
      let updates = 0;
      source.onUpdate(() => updates++);
      const next = nextUpdate(source, 5000);
      sendRest();
      await next;
      assert.equal(updates, 1, 'the bad message did not count as an update');
      assert.ok(
        warnings.some((w) => /invalid X.509-SVID/.test(w) && /does not match/.test(w)),
        warnings.join('\n'),
      );
      assert.notEqual(serialOf(source), firstSerial);
      assert.deepEqual(
        [...source.getX509Bundles().keys()],
        ['example.test'],
        'federated bundles dropped when absent',
      );
    } finally {
      await source?.close();
      agent.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('retries through PERMISSION_DENIED until an identity is issued', async () => {
    const tmp = tempDir();
    const agent = new FakeAgent();
    let source: X509Source | undefined;
    try {
      const good = await svidMessage(ca, 'spiffe://example.test/app');
      agent.steps.push((call) =>
        call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' }),
      );
      agent.steps.push((call) => call.write(good));
      await agent.start(tmp);
      const warnings: string[] = [];
      source = await createX509Source({
        endpoint: `unix://${agent.socket}`,
        timeoutMs: 10_000,
        backoffStepMs: 100,
        logger: { ...silentIdentityLogger, warn: (msg: string) => warnings.push(msg) },
      });
      assert.equal(source.getX509Svid().spiffeId, 'spiffe://example.test/app');
      assert.equal(agent.calls, 2);
      // The agent is there: the warning says the process has no identity, not that nothing answers.
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(warnings[0] ?? '', /has no identity for this process \(PERMISSION_DENIED\)/);
      assert.match(warnings[0] ?? '', /registration entry/);
      assert.doesNotMatch(warnings[0] ?? '', /nothing answers|Start the SPIRE agent/);
    } finally {
      await source?.close();
      agent.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('treats INVALID_ARGUMENT as fatal: rejects at once and does not retry', async () => {
    const tmp = tempDir();
    const agent = new FakeAgent();
    try {
      agent.steps.push((call) =>
        call.emit('error', {
          code: grpc.status.INVALID_ARGUMENT,
          details: 'security header missing from request',
        }),
      );
      await agent.start(tmp);
      await assert.rejects(
        createX509Source({ endpoint: `unix://${agent.socket}`, timeoutMs: 20_000, backoffStepMs: 50 }),
        /INVALID_ARGUMENT: security header missing from request/,
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(agent.calls, 1);
    } finally {
      agent.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
