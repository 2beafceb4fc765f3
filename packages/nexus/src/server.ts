/**
 * `createNexus`: the main thread's API (built by `buildApi`, as every API thread builds its own),
 * the plain-HTTP health listener, the custody layer and, with `SPIKE_NEXUS_API_THREADS` > 1, the
 * API threads. Usable in-process (tests) and from `main.ts`.
 */
import type { Server as HttpServer, RequestListener } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { silentLogger, type Logger, type PolicyChange, type SecretStore } from '@spike-ts/core';
import { isNexus, type X509Source } from '@spike-ts/identity';
import { buildApi, listenOn } from './api-builder.ts';
import type { AuditSink } from './audit.ts';
import { openAuditOutput } from './audit-shipping.ts';
import type { SyslogStats } from './audit-syslog.ts';
import type { NexusConfig } from './config.ts';
import type { CustodyFactory } from './custody-port.ts';
import { createHealthServer } from './health.ts';
import { coalesce } from './policy-sync.ts';
import { registerAuditShippingMetrics } from './metrics/audit-shipping-metrics.ts';
import { registerNexusGauges } from './metrics/nexus-gauges.ts';
import { createScraper } from './metrics/scrape.ts';
import { createThreadMetrics, type ThreadMetrics } from './metrics/thread-metrics.ts';
import { createCallAsPerson, type CallAsPerson } from './people/call-as-person.ts';
import { createPeopleListener, type PeopleListener } from './people/people-listener.ts';
import { createTokenValidator, type TokenValidatorOptions } from './people/token-validator.ts';
import { createNexusConsole, readConsoleClientSecret } from './console-door.ts';
import { tlsPeerId } from './http/peer.ts';
import { createRoutes } from './route/table.ts';
import { createRootKeyRotation } from './rotation/root-key-rotation.ts';
import type { NexusState } from './state.ts';
import { createApiThreads, createCounters, type ApiThreads } from './threads/api-threads.ts';

export interface NexusDeps {
  /** Our own X.509-SVID and the trust bundles. Its SPIFFE ID must be a Nexus ID. */
  readonly source: X509Source;
  readonly logger?: Logger;
  /** Default: built from the configuration. The Nexus owns it and closes it. */
  readonly store?: SecretStore;
  /**
   * Default: the sink named by `config.audit`. Audit shipping (`config.auditSyslog`) is added
   * either way.
   */
  readonly auditSink?: AuditSink;
  /** Root-key custody (keepers, recover/restore). Ignored with the memory backend. */
  readonly custodyFactory?: CustodyFactory;
  /** Epoch milliseconds (tests). */
  readonly now?: () => number;
  /**
   * With metrics on, also prom-client's default process and Node.js metrics (`process_*`,
   * `nodejs_*`). They measure the whole process and start monitors that live as long as it does,
   * so only `spike-nexus` itself turns them on. Default false.
   */
  readonly processMetrics?: boolean;
  /** Shortest time between two scrapes that collect afresh (milliseconds; default 1000). */
  readonly metricsMinIntervalMs?: number;
  /** JWKS caching and fetching of the people listener's token validator (tests). */
  readonly tokenValidator?: TokenValidatorOptions;
}

export interface Nexus {
  readonly state: NexusState;
  readonly store: SecretStore;
  /** Start both listeners, then custody. Resolves with the API address. */
  listen(): Promise<AddressInfo>;
  /** The API listener's address (throws before `listen`). */
  address(): AddressInfo;
  /** The health listener's address, or null when it is disabled or not listening. */
  healthAddress(): AddressInfo | null;
  /** The people listener's address, or null when it is off or not listening (ADR 0035). */
  peopleAddress(): AddressInfo | null;
  /**
   * Runs a request for a person the console has logged in through the same pipeline as an HTTP
   * request (authorization, validation, audit with door `console`).
   */
  readonly callAsPerson: CallAsPerson;
  /**
   * Mounts the console's request handler under `/console/` on the people listener (the only
   * paths there served without a bearer token). Throws when the people listener is off.
   */
  mountConsole(handler: RequestListener): void;
  /** Reopens the audit file (SIGHUP after logrotate moved it); no-op for other sinks. */
  reopenAuditLog(): void;
  /** Counters of audit shipping to the syslog aggregator, or null when it is off. */
  auditShipping(): SyslogStats | null;
  /**
   * The main thread's metrics (undefined when off): add counters and gauges to its `registry`
   * and they appear at `/metrics`.
   */
  readonly metrics: ThreadMetrics | undefined;
  close(): Promise<void>;
}

/** The X.509-SVID of this process is not a SPIKE Nexus ID. */
export class NexusIdentityError extends Error {
  override readonly name = 'NexusIdentityError';
}

export async function createNexus(config: NexusConfig, deps: NexusDeps): Promise<Nexus> {
  const logger = deps.logger ?? silentLogger;
  const ownId = deps.source.getX509Svid().spiffeId;
  if (!isNexus(ownId, config.trustRoots)) {
    throw new NexusIdentityError(
      `this process's SPIFFE ID ${ownId} is not a SPIKE Nexus ID (spiffe://<SPIKE_TRUST_ROOT_NEXUS>/spike/nexus)`,
    );
  }
  // The console's client secret is read before anything is opened, so a bad file fails the start cleanly.
  const consoleBlock = config.people?.oidc.console;
  const consoleSecret = consoleBlock === undefined ? undefined : readConsoleClientSecret(consoleBlock);

  // With API threads, the shared counters tell the workers about every commit and policy change.
  const counters = config.apiThreads > 1 ? createCounters() : undefined;
  if (counters !== undefined && deps.store !== undefined) {
    // Workers follow the commits the configured store reports; another store would not report them.
    throw new Error('SPIKE_NEXUS_API_THREADS above 1 needs the store built from the configuration');
  }
  // Assigned once the request handler exists; no policy changes before (the key comes later).
  let threads: ApiThreads | undefined = undefined;
  const metrics = config.metrics ? createThreadMetrics(config.trustRoots) : undefined;
  const auditOutput = openAuditOutput(config, logger, deps.auditSink, deps.now);
  let built;
  try {
    built = await buildApi({
      config,
      source: deps.source,
      logger,
      routes: createRoutes,
      ...(deps.store === undefined ? {} : { store: deps.store }),
      auditOutput,
      ...(deps.now === undefined ? {} : { now: deps.now }),
      ...(metrics === undefined ? {} : { metrics }),
      // On PostgreSQL every API thread follows the database itself (ADR 0032), not these feeds.
      ...(counters === undefined || config.backend === 'postgres'
        ? {}
        : {
            storeHooks: { onCommit: (paths: readonly string[]) => threads?.committed(paths) },
            onPoliciesChanged: (change: PolicyChange) => threads?.policyChanged(change),
          }),
      rotation: (state, store, custody) =>
        createRootKeyRotation({
          store,
          state,
          custody,
          threshold: config.shamirThreshold,
          batchSize: config.rotationBatchSize,
          pollIntervalMs: config.keeperHeartbeatIntervalMs,
          logger,
          now: deps.now ?? Date.now,
          onRootKeyChanged: () => threads?.rootKeyChanged(),
        }),
      custody: (state, store) =>
        store.persistent && deps.custodyFactory !== undefined
          ? deps.custodyFactory({
              state,
              config,
              source: deps.source,
              logger: logger.child({ component: 'custody' }),
            })
          : undefined,
      // A request bridged from an API thread carries the caller its thread verified.
      peerId: (req) => {
        const bridged = threads === undefined ? null : threads.bridgedPeer(req);
        return bridged !== null ? bridged : tlsPeerId(req);
      },
    });
  } catch (err) {
    await auditOutput.sink.close();
    throw err;
  }
  const { store, state, audit, custody, rotation, handler, handlerFor, server: api } = built;
  // `/readyz` on a shared database: one ping at a time, shared by concurrent probes (ADR 0032).
  const ping = store.ping === undefined ? undefined : coalesce(() => (store.ping as () => Promise<void>)());
  const pingDatabase =
    ping === undefined
      ? undefined
      : () =>
          ping().then(
            () => true,
            () => false,
          );
  // The people listener runs on the main thread only (ADR 0035): API threads serve the mTLS port.
  const validator =
    config.people === null ? undefined : createTokenValidator(config.people.oidc, deps.tokenValidator);
  const people: PeopleListener | undefined =
    config.people === null || validator === undefined
      ? undefined
      : createPeopleListener({
          config,
          certPem: config.people.certPem,
          keyPem: config.people.keyPem,
          validator,
          handlerFor,
          audit,
          ...(metrics === undefined ? {} : { metrics: metrics.requests }),
          logger: logger.child({ component: 'people' }),
          ...(deps.now === undefined ? {} : { now: deps.now }),
        });
  const callAsPerson = createCallAsPerson(handlerFor);
  if (people !== undefined && validator !== undefined && consoleBlock !== undefined) {
    const web = createNexusConsole(
      consoleBlock,
      consoleSecret,
      validator,
      callAsPerson,
      logger.child({ component: 'console' }),
    );
    people.mountConsole((req, res) => void web.handle(req, res));
  }
  threads =
    counters === undefined
      ? undefined
      : createApiThreads({
          workers: config.apiThreads - 1,
          counters,
          handler,
          headersTimeoutMs: config.headersTimeoutMs,
          requestTimeoutMs: config.requestTimeoutMs,
          keepAliveTimeoutMs: config.keepAliveTimeoutMs,
          logger,
          onRootKey: (fn) => {
            state.onReady(() => state.withRootKey(fn));
          },
          policies: () => state.policies.all(),
          onAudit: (lines) => auditOutput.sink.write(lines),
        });

  let scraper: ReturnType<typeof createScraper> | undefined;
  if (metrics !== undefined) {
    const gauges = registerNexusGauges(metrics.registry, {
      state,
      keepers: () => custody?.keeperStates?.() ?? [],
      ...(rotation === undefined ? {} : { rotation: () => rotation.metrics() }),
      threads: () => ({ running: threads?.running ?? 0, restarts: threads?.restarts ?? 0 }),
      ...(deps.processMetrics === undefined ? {} : { processMetrics: deps.processMetrics }),
    });
    const syslog = auditOutput.syslog;
    if (syslog !== undefined) registerAuditShippingMetrics(metrics.registry, () => syslog.stats());
    scraper = createScraper({
      own: metrics,
      others: () => threads,
      onStale: (stale) => gauges.setStale(stale),
      ...(deps.metricsMinIntervalMs === undefined ? {} : { minIntervalMs: deps.metricsMinIntervalMs }),
    });
  }

  const health: HttpServer | null =
    config.health === null
      ? null
      : createHealthServer({
          isReady: () => state.isReady(),
          ...(pingDatabase === undefined ? {} : { databaseReachable: pingDatabase }),
          damagedRows: () => {
            const d = state.damagedRows();
            return d.policies + d.secrets + d.secret_versions;
          },
          headersTimeoutMs: config.headersTimeoutMs,
          requestTimeoutMs: config.requestTimeoutMs,
          keepAliveTimeoutMs: config.keepAliveTimeoutMs,
          maxConnections: config.healthMaxConnections,
          ...(scraper === undefined
            ? {}
            : {
                metrics: {
                  scrape: () => scraper.scrape(),
                  contentType: scraper.contentType,
                  onError: (err: unknown) => logger.error('metrics scrape failed', { err }),
                },
              }),
        });

  let closed = false;
  let custodyStarted = false;

  const closeServer = (server: HttpServer | HttpsServer): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    state,
    store,
    metrics,
    async listen() {
      if (closed) throw new Error('the Nexus is closed');
      if (threads !== undefined) await ensurePortFree(config.listen.port, config.listen.host);
      await listenOn(api, config.listen.port, config.listen.host, threads !== undefined);
      if (threads !== undefined) {
        try {
          await threads.start((api.address() as AddressInfo).port, config.listen.host);
        } catch (err) {
          await threads.stop();
          await closeServer(api);
          throw err;
        }
      }
      if (health !== null && config.health !== null) {
        try {
          await listenOn(health, config.health.port, config.health.host);
        } catch (err) {
          await threads?.stop();
          await closeServer(api);
          throw err;
        }
      }
      if (people !== undefined && config.people !== null) {
        try {
          await listenOn(people.server, config.people.listen.port, config.people.listen.host);
        } catch (err) {
          await threads?.stop();
          await Promise.all([closeServer(api), health === null ? Promise.resolve() : closeServer(health)]);
          throw err;
        }
        const at = people.server.address() as AddressInfo;
        logger.info('SPIKE Nexus people listener listening', { address: at.address, port: at.port });
      }
      if (custody !== undefined && !custodyStarted) {
        custodyStarted = true;
        custody.start();
        rotation?.start();
      }
      const address = api.address() as AddressInfo;
      logger.info('SPIKE Nexus listening', {
        address: address.address,
        port: address.port,
        backend: config.backend,
        apiThreads: config.apiThreads,
        apiThreadsAuto: config.apiThreadsAuto,
        ready: state.isReady(),
      });
      return address;
    },
    address() {
      const a = api.address();
      if (a === null || typeof a === 'string') throw new Error('the Nexus is not listening');
      return a;
    },
    healthAddress() {
      const a = health?.address();
      return a === undefined || a === null || typeof a === 'string' ? null : a;
    },
    peopleAddress() {
      const a = people?.server.address();
      return a === undefined || a === null || typeof a === 'string' ? null : a;
    },
    callAsPerson,
    mountConsole(consoleHandler) {
      if (people === undefined) throw new Error('the people listener is off (SPIKE_NEXUS_PEOPLE_LISTEN)');
      people.mountConsole(consoleHandler);
    },
    reopenAuditLog() {
      auditOutput.sink.reopen?.();
    },
    auditShipping() {
      return auditOutput.syslog?.stats() ?? null;
    },
    async close() {
      if (closed) return;
      closed = true;
      await rotation?.stop();
      if (custody !== undefined) {
        try {
          await custody.stop();
        } catch (err) {
          logger.warn('custody did not stop cleanly', { err });
        }
      }
      await threads?.stop();
      await Promise.all([
        closeServer(api),
        health === null ? Promise.resolve() : closeServer(health),
        people === undefined ? Promise.resolve() : closeServer(people.server),
      ]);
      state.close();
      await audit.close();
      await store.close();
    },
  };
}

/**
 * With API threads the port is shared (`reusePort`), and the kernel would also let another process
 * of the same user share it: another Nexus started by mistake would then take part of the traffic
 * instead of failing. A plain bind first, released at once, makes that a start-up error.
 */
async function ensurePortFree(port: number, host: string | undefined): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}
