/**
 * An API worker thread (see `api-threads.ts`). Reads the same environment as the main thread,
 * gets its own X.509-SVID from the Workload API, listens on the API port beside the main thread,
 * answers `secret get` itself once it has the root key, and hands every other request (and
 * every request before it has the key) to the main thread over the bridge.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MessageChannel, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createLogger, zeroize } from '@spike-ts/core';
import { createX509Source } from '@spike-ts/identity';
import { ACTION_GET, URL_SECRETS } from '@spike-ts/protocol';
import { buildApi, listenOn } from '../api-builder.ts';
import { approvalGates } from '../approvals/approval-service.ts';
import { forwardingAuditSink } from '../audit.ts';
import { loadConfigFromProcess } from '../config.ts';
import { tlsPeerId } from '../http/peer.ts';
import { createThreadMetrics } from '../metrics/thread-metrics.ts';
import { secretGetRoute } from '../route/secret/get.ts';
import {
  BRIDGE_PEER_HEADER,
  COMMITS,
  POLICY_CHANGES,
  type ApiWorkerData,
  type MainToWorker,
  type WorkerToMain,
} from './api-threads.ts';
import { createDirectClient, endToEnd } from './direct.ts';
import { followCommits, type Mirror } from './feed.ts';
import { createGatedReads } from './gated-reads.ts';
import { createPolicyMirror } from './policy-feed.ts';
import { PortDuplex } from './port-duplex.ts';

/** SQLite page cache of an API thread's read-only connection. */
const WORKER_PAGE_CACHE_KIB = 8192;
const LOCAL_TARGET = `${URL_SECRETS}?action=${ACTION_GET}`;
if (parentPort === null) throw new Error('api-worker.ts runs as a worker thread only');
const port: MessagePort = parentPort;
const {
  index,
  counters,
  policyPort,
  commitPort,
  auditPort,
  requestPort,
  port: apiPort,
  host: apiHost,
} = workerData as ApiWorkerData;
const send = (msg: WorkerToMain, transfer?: readonly MessagePort[]): void =>
  port.postMessage(msg, transfer as never);

// No top-level await: the self-contained executable runs this file as a CommonJS bundle.
run().catch((err: unknown) => {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});

async function run(): Promise<void> {
  const config = loadConfigFromProcess();
  const logger = createLogger({
    level: config.logLevel,
    sink: (line) => process.stdout.write(line),
    base: { component: 'nexus', thread: index },
  });
  const source = await createX509Source({
    endpoint: config.spiffeEndpointSocket,
    timeoutMs: config.spiffeSourceTimeoutMs,
    env: process.env,
    logger,
  });
  // The same API as the main thread's (`buildApi`), answering `secret get` only. Its read cache
  // follows the main thread's commits (each drops the secrets it changed), and its policies
  // mirror the main thread's (see policy-feed.ts), never loaded from this connection.
  const feeds: { commits?: Mirror; policies?: Mirror } = {};
  // On a shared database (PostgreSQL) this thread is one more reader of it, like another replica:
  // its own pool (no read cache), its own policies checked against the database's revision before
  // each request (ADR 0032); the main thread's feeds are not used.
  const shared = config.backend === 'postgres';
  if (shared) {
    policyPort.close();
    commitPort.close();
  }
  // This thread's counts; the main thread collects them at each scrape.
  const metrics = config.metrics ? createThreadMetrics(config.trustRoots) : undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  agent.createConnection = () => {
    const { port1, port2 } = new MessageChannel();
    send({ type: 'bridge', port: port2 }, [port2]);
    return new PortDuplex(port1);
  };

  // Requests with a declared body within the limit go in one message each way (direct.ts);
  // others (chunked, or too large: the main thread answers 413) as HTTP over the bridge.
  const direct = createDirectClient(requestPort, config.maxRequestBodySize, BRIDGE_PEER_HEADER);
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const peer = tlsPeerId(req) ?? '';
    if (direct.forward(req, res, peer)) return;
    const headers = endToEnd(req.headers, BRIDGE_PEER_HEADER);
    headers[BRIDGE_PEER_HEADER] = peer;
    const upstream = http.request({ agent, method: req.method, path: req.url, headers }, (answer) => {
      const out = endToEnd(answer.headers, BRIDGE_PEER_HEADER);
      if (answer.headers.connection === 'close') out['connection'] = 'close';
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) logger.warn('request to the main thread failed', { err });
      res.destroy();
    });
    req.pipe(upstream);
  };

  // While policies carry approval rules, a read is answered here unless a rule gates its path
  // (gated-reads.ts): using up a grant is a write, and on SQLite the main thread is the one writer.
  const gated = createGatedReads({
    maxBodySize: config.maxRequestBodySize,
    gates: (path) => approvalGates(state.policies, 'read', path),
    forward,
    forwardRead: (req, res, body) => direct.forwardRead(req, res, tlsPeerId(req) ?? '', body),
  });

  const { store, state, audit, server } = await buildApi({
    config,
    source,
    logger,
    routes: (deps) => [secretGetRoute(deps)],
    thread: 'api',
    // The main thread writes this thread's records to its own sinks (file, syslog).
    auditSink: forwardingAuditSink((lines) => auditPort.postMessage(lines)),
    ...(metrics === undefined ? {} : { metrics }),
    storeHooks: shared
      ? {}
      : {
          peerChanges: followCommits({
            port: commitPort,
            counters,
            index: COMMITS,
            logger,
            onMirror: (mirror) => (feeds.commits = mirror),
          }),
          // This connection only reads, and its row cache serves repeated reads: a small page cache
          // (the main thread's, which writes, keeps 64 MiB) saves memory per thread (ADR 0031).
          pageCacheKiB: WORKER_PAGE_CACHE_KIB,
        },
    loadPoliciesFromStore: shared,
    // On PostgreSQL the database serializes grant use, so this thread may use grants itself.
    usesGrants: shared,
    bodyReadBefore: (req) => gated.bodyReadBefore(req),
    // Answer here once this thread has the key and the current policies; else the main thread.
    front: (local) => (req, res) => {
      if (
        req.method !== 'POST' ||
        req.url !== LOCAL_TARGET ||
        !state.isReady() ||
        (!shared && feeds.policies?.current() !== true)
      ) {
        forward(req, res);
      } else if (shared || !state.policies.hasApprovalRules) {
        local(req, res);
      } else {
        gated.answer(req, res, local);
      }
    },
  });
  if (!shared)
    feeds.policies = createPolicyMirror({
      engine: state.policies,
      port: policyPort,
      counters,
      index: POLICY_CHANGES,
      logger,
    });
  await listenOn(server, apiPort, apiHost, true);

  port.on('message', (msg: MainToWorker) => {
    if (msg.type === 'metrics') {
      const id = msg.id;
      (metrics?.snapshot() ?? Promise.resolve([])).then(
        (snapshot) => send({ type: 'metrics', id, metrics: snapshot }),
        (err: unknown) => logger.warn('API thread could not collect its metrics', { err }),
      );
    } else if (msg.type === 'root-key') {
      const key = msg.key;
      // A key while one is installed: the main thread's key after a root-key rotation.
      (state.hasRootKey() ? state.adoptRootKey(key) : state.installRootKey(key)).then(
        () => logger.info('root key installed in API thread'),
        (err: unknown) => logger.error('API thread could not install the root key', { err }),
      );
      zeroize(key);
    } else {
      server.closeAllConnections();
      server.close();
      agent.destroy();
      direct.close();
      feeds.policies?.close();
      feeds.commits?.close();
      void Promise.allSettled([audit.close(), store.close(), source.close()]).then(() => {
        state.close();
        auditPort.close();
        port.close();
      });
    }
  });
  send({ type: 'listening' });
}
