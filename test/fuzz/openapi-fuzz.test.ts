/**
 * Property-based fuzzing of the real servers, driven by docs/openapi.yaml: Schemathesis (from the
 * tools cache, `npm run tools:install`) sends generated and mutated requests over mutual TLS to a
 * real `spike-nexus` process (SQLite store, root key restored from Shamir shares, dev identities)
 * and to a real `spike-keeper`, with a bounded number of examples per operation and a fixed seed.
 *
 * It fails on any 5xx answer (save the one deliberate 500 SPIKE answers for a ciphertext that does
 * not open, checked exactly by test/fuzz/checks.py), on a request that gets no answer in time, on
 * an answer that breaks the document (status, content type, body schema), and when a server
 * process has died or stops answering afterwards.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { generateRootKey, shardToJson, splitRootKey } from '@spike-ts/core';
import { startDevIssuer, type DevIssuer } from '@spike-ts/dev-identity';
import { OPENAPI_DOC } from '../../scripts/openapi.ts';
import { missingBinaries, toolBinDir } from '../../scripts/tools/registry.ts';
import { SCHEMATHESIS } from '../../scripts/tools/schemathesis.ts';
import { call, type ClientCert, type Pki } from '../nexus/harness.ts';
import {
  KEEPER_BIN,
  NEXUS_BIN,
  certFromIssuer,
  issuerTrust,
  killAll,
  launch,
  waitForPort,
  type Child,
} from '../nexus/processes.ts';

/** Generated cases per operation and phase: enough to find shallow faults, small enough for CI. */
const MAX_EXAMPLES = 25;
/** A request without an answer in this time is a hang. */
const REQUEST_TIMEOUT_S = 10;
/** The whole run of one target; a run still going then is a hang. */
const RUN_TIMEOUT_MS = 240_000;

interface Run {
  readonly code: number | null;
  readonly signal: string | null;
  readonly output: string;
}

/** Runs Schemathesis in `cwd` (it keeps its example database there: a temp folder, not the checkout). */
function schemathesis(args: readonly string[], cwd: string): Promise<Run> {
  const bin = join(toolBinDir(SCHEMATHESIS), 'schemathesis');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], {
      // Our check lives in checks.py next to this file (the hooks module, found on PYTHONPATH).
      env: {
        ...process.env,
        NO_COLOR: '1',
        PYTHONPATH: import.meta.dirname,
        SCHEMATHESIS_HOOKS: 'checks',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd,
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

describe('fuzzing Nexus and the keeper from docs/openapi.yaml (Schemathesis)', () => {
  let dir = '';
  let issuer: DevIssuer;
  let trust: Pki;
  let nexus: Child;
  let nexusPort = 0;
  const keepers: Child[] = [];
  const keeperPorts: number[] = [];
  const certs: Record<string, ClientCert> = {};
  const pem: Record<string, { cert: string; key: string }> = {};

  before(async () => {
    const missing = missingBinaries(SCHEMATHESIS, toolBinDir(SCHEMATHESIS));
    assert.deepEqual(
      missing,
      [],
      `schemathesis ${SCHEMATHESIS.version} is missing: run \`npm run tools:install\``,
    );
    dir = await mkdtemp('/tmp/spx-fuzz-');
    issuer = await startDevIssuer({ stateDir: join(dir, 'state'), socketDir: join(dir, 's'), env: {} });
    trust = issuerTrust(issuer);
    for (const name of ['pilot', 'pilot-restore', 'pilot-recover', 'bootstrap', 'nexus', 'demo']) {
      const cert = await certFromIssuer(issuer, name);
      certs[name] = cert;
      pem[name] = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
      await writeFile(pem[name].cert, cert.certPem);
      await writeFile(pem[name].key, cert.keyPem, { mode: 0o600 });
    }
    for (let i = 0; i < 3; i++) {
      const keeper = launch(KEEPER_BIN, {
        SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('keeper'),
        SPIKE_KEEPER_TLS_PORT: '127.0.0.1:0',
        HOME: dir,
      });
      keepers.push(keeper);
      keeperPorts.push(await waitForPort(keeper));
    }
    nexus = launch(NEXUS_BIN, {
      SPIFFE_ENDPOINT_SOCKET: issuer.endpointFor('nexus'),
      SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
      SPIKE_NEXUS_HEALTH_ADDR: 'off',
      SPIKE_NEXUS_AUDIT_LOG: 'off',
      SPIKE_SYSTEM_LOG_LEVEL: 'warn',
      SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
      SPIKE_NEXUS_DATA_DIR: join(dir, 'nexus'),
      SPIKE_NEXUS_KEEPER_PEERS: keeperPorts.map((p) => `https://127.0.0.1:${String(p)}`).join(','),
      HOME: dir,
    });
    nexusPort = await waitForPort(nexus);
    const shares = splitRootKey(generateRootKey(), 2, 3);
    for (const share of shares.slice(0, 2)) {
      const r = await call(nexusPort, trust, {
        path: '/v1/operator/restore',
        body: { id: share.id, shard: shardToJson(share.value) },
        client: certs['pilot-restore'] as ClientCert,
      });
      assert.equal(r.status, 200, r.text);
    }
  });

  after(async () => {
    await killAll();
    await issuer.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  /**
   * The checks: ours for server errors (checks.py), and Schemathesis's for answers that break the
   * document. Left out, each for a reason ADR 0028 gives: `unsupported_method` (SPIKE answers
   * 400, not 405, to any other method), `positive_data_acceptance` (one operation per path takes
   * the union of its actions' bodies, so a body valid for one action is rightly refused by
   * another) and `negative_data_rejection` (the servers accept what Go's encoding/json accepts:
   * a missing field or `null` is the zero value).
   */
  const CHECKS = [
    'spike_no_server_error',
    'status_code_conformance',
    'content_type_conformance',
    'response_headers_conformance',
    'response_schema_conformance',
    'missing_required_header',
  ].join(',');

  interface Target {
    readonly port: number;
    /** `--include-tag` or `--include-path` value. */
    readonly tag?: 'nexus' | 'keeper';
    readonly path?: string;
    /** The dev identity whose SVID is the client certificate. */
    readonly identity: string;
    readonly maxExamples?: number;
    readonly requestTimeoutS?: number;
    readonly phases?: string;
  }

  const fuzz = (target: Target): Promise<Run> =>
    schemathesis(
      [
        'run',
        OPENAPI_DOC,
        '--url',
        `https://127.0.0.1:${String(target.port)}`,
        ...(target.tag === undefined ? [] : ['--include-tag', target.tag]),
        ...(target.path === undefined ? [] : ['--include-path', target.path]),
        '--request-cert',
        pem[target.identity]!.cert,
        '--request-cert-key',
        pem[target.identity]!.key,
        // The servers present SPIFFE SVIDs (a URI SAN, no host name), which a host-name check
        // cannot verify; the client certificate is still required and checked by the server.
        '--tls-verify',
        'false',
        '--checks',
        CHECKS,
        '--max-examples',
        String(target.maxExamples ?? MAX_EXAMPLES),
        '--seed',
        '20261205',
        '--workers',
        '1',
        '--request-timeout',
        String(target.requestTimeoutS ?? REQUEST_TIMEOUT_S),
        '--phases',
        target.phases ?? 'examples,coverage,fuzzing',
        '--no-shrink',
      ],
      dir,
    );

  /** The run finished in time, found nothing, and the servers are still up and answering. */
  const assertClean = async (t: TestContext, run: Run): Promise<void> => {
    // How much was sent, in the test report (e.g. "530 generated").
    t.diagnostic(/\d+ generated[^\n]*/.exec(run.output)?.[0] ?? 'no summary');
    assert.equal(
      run.signal,
      null,
      `schemathesis did not finish in ${String(RUN_TIMEOUT_MS)} ms (a hang?)\n${run.output}`,
    );
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /\d+ generated/, run.output);
    for (const child of [nexus, ...keepers]) {
      assert.equal(child.proc.exitCode, null, `a server exited during the run:\n${child.output()}`);
      assert.equal(child.proc.signalCode, null, `a server was killed during the run:\n${child.output()}`);
    }
    const r = await call(nexusPort, trust, {
      path: '/v1/operator/status',
      body: {},
      client: certs.pilot as ClientCert,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().ready, true, r.text);
  };

  it('Nexus, as a Pilot superuser: no 5xx, no hang, answers as documented', async (t) => {
    await assertClean(t, await fuzz({ port: nexusPort, tag: 'nexus', identity: 'pilot' }));
  });

  it('Nexus, as an ordinary workload without policies: the same', async (t) => {
    await assertClean(
      t,
      await fuzz({
        port: nexusPort,
        tag: 'nexus',
        identity: 'demo',
        // Every route answers this caller 401 before its handler: fewer cases tell as much.
        maxExamples: Math.min(MAX_EXAMPLES, 10),
      }),
    );
  });

  it('Nexus routes of the Bootstrap and Pilot recover roles, as those roles: the same', async (t) => {
    await assertClean(
      t,
      await fuzz({ port: nexusPort, path: '/v1/bootstrap/verify', identity: 'bootstrap' }),
    );
    await assertClean(
      t,
      await fuzz({ port: nexusPort, path: '/v1/operator/recover', identity: 'pilot-recover' }),
    );
  });

  it('a server that takes the connection and never answers fails the run (hang detection works)', async () => {
    // A TLS server with Nexus's SVID that reads requests and never answers them.
    const silent = createServer(
      { key: certs.nexus!.keyPem, cert: certs.nexus!.certPem, requestCert: true, rejectUnauthorized: false },
      (socket) => socket.resume(),
    );
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const run = await fuzz({
        port: (silent.address() as AddressInfo).port,
        path: '/v1/operator/status',
        identity: 'pilot',
        maxExamples: 1,
        requestTimeoutS: 1,
        phases: 'examples',
      });
      assert.equal(run.signal, null, run.output);
      assert.notEqual(run.code, 0, run.output);
      assert.match(run.output, /Network Error|timed out/i, run.output);
    } finally {
      silent.close();
    }
  });

  it('a keeper, as Nexus: no 5xx, no hang, answers as documented', async (t) => {
    await assertClean(t, await fuzz({ port: keeperPorts[0]!, tag: 'keeper', identity: 'nexus' }));
  });
});
