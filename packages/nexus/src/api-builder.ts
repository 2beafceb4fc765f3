/**
 * The one composition of the Nexus API: store, state, audit log, authorizer, routes, request
 * handler and mTLS server, built the same way for the main thread (`server.ts`) and for every API
 * thread (`threads/api-worker.ts`). What differs between them is passed in: which routes, how
 * the store learns of commits, where policies come from, and what stands in front of the handler.
 */
import type { Server as HttpServer, IncomingMessage, RequestListener } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Caller, Logger, PolicyChange, SecretStore } from '@spike-ts/core';
import { createMtlsServer, type X509Source } from '@spike-ts/identity';
import type { SqliteStoreOptions } from '@spike-ts/store';
import { createAuditLog, type AuditLog, type AuditSink } from './audit.ts';
import { isMutating, openAuditOutput, type AuditOutput } from './audit-shipping.ts';
import { ApprovalService } from './approvals/approval-service.ts';
import { createAuthorizer } from './authz.ts';
import type { NexusConfig } from './config.ts';
import type { Custody } from './custody-port.ts';
import type { RootKeyRotationService } from './rotation/root-key-rotation.ts';
import { apiListenerLimits, createCallerLimiter, limitCallers, threadRateLimit } from './http/limits.ts';
import { tlsPeerId } from './http/peer.ts';
import { createRequestHandler, type RequestHandlerOptions } from './http/router.ts';
import type { ThreadMetrics } from './metrics/thread-metrics.ts';
import { createSerialQueue, type RouteDeps } from './route/deps.ts';
import type { Route } from './route/route.ts';
import { createNexusState, type NexusState } from './state.ts';
import { createStoreFromConfig, type StoreThread } from './store-factory.ts';

export interface ApiBuildOptions {
  readonly config: NexusConfig;
  /** Our own X.509-SVID and trust bundles (the mTLS server presents and verifies with it). */
  readonly source: X509Source;
  readonly logger: Logger;
  /** The routes this thread answers itself. */
  readonly routes: (deps: RouteDeps) => readonly Route[];
  /** Default: built from the configuration (with `storeHooks`). The API owns it and closes it. */
  readonly store?: SecretStore;
  /** Whose share of the PostgreSQL connections a store built here gets (default `main`). */
  readonly thread?: StoreThread;
  /** SQLite hooks: the main thread reports its commits, an API thread follows them. */
  readonly storeHooks?: Pick<SqliteStoreOptions, 'onCommit' | 'peerChanges' | 'pageCacheKiB'>;
  /** Called after each change of the policy engine (the main thread posts it to API threads). */
  readonly onPoliciesChanged?: (change: PolicyChange) => void;
  /** False on API threads: their policies mirror the main thread's. Default true. */
  readonly loadPoliciesFromStore?: boolean;
  /**
   * Where audit records go. Default: the sinks the configuration names (`openAuditOutput`).
   * API threads pass a sink that forwards to the main thread.
   */
  readonly auditSink?: AuditSink;
  /** The main thread: audit output built from the configuration around this local sink. */
  readonly auditOutput?: AuditOutput;
  /** Root-key custody, built once the state exists (the main thread only). */
  readonly custody?: (state: NexusState, store: SecretStore) => Custody | undefined;
  /** Online root-key rotation (the main thread only; ADR 0044). */
  readonly rotation?: (
    state: NexusState,
    store: SecretStore,
    custody: Custody | undefined,
  ) => RootKeyRotationService | undefined;
  /** The caller's SPIFFE ID. Default: from the TLS peer certificate. */
  readonly peerId?: (req: IncomingMessage) => string | undefined;
  /**
   * What the mTLS server calls: by default the request handler itself. An API thread puts its
   * "answer here or hand to the main thread" choice in front of it.
   */
  readonly front?: (handler: RequestListener) => RequestListener;
  /** A body `front` already read for a request, if any (else the handler reads the stream). */
  readonly bodyReadBefore?: (req: IncomingMessage) => Buffer | undefined;
  /** False on an API thread that must not use up approval grants itself (SQLite; ADR 0042). */
  readonly usesGrants?: boolean;
  /** This thread's metrics (requests, storage); none when metrics are off. */
  readonly metrics?: ThreadMetrics;
  /** Epoch milliseconds (tests). */
  readonly now?: () => number;
}

export interface Api {
  readonly store: SecretStore;
  readonly state: NexusState;
  readonly audit: AuditLog;
  readonly custody: Custody | undefined;
  readonly rotation: RootKeyRotationService | undefined;
  /** The request pipeline over this thread's routes. */
  readonly handler: RequestListener;
  /**
   * The same pipeline (routes, audit, gates) for another door: the people listener and the
   * console (ADR 0035) pass how they know the person.
   */
  readonly handlerFor: (door: Pick<RequestHandlerOptions, 'door' | 'person'>) => RequestListener;
  /** The mTLS API server (not listening yet). */
  readonly server: HttpsServer;
}

/** Builds the API of one thread. If the state cannot be built, the store is closed again. */
export async function buildApi(options: ApiBuildOptions): Promise<Api> {
  const { config, logger, metrics } = options;
  const built =
    options.store ??
    (await createStoreFromConfig(
      config,
      logger,
      {
        ...options.storeHooks,
        ...(metrics === undefined ? {} : { observer: metrics.store.observer }),
      },
      options.thread ?? 'main',
    ));
  const store = metrics === undefined ? built : metrics.store.instrument(built);
  let state: NexusState;
  try {
    state = await createNexusState({
      store,
      logger,
      ...(options.onPoliciesChanged === undefined ? {} : { onPoliciesChanged: options.onPoliciesChanged }),
      ...(options.loadPoliciesFromStore === undefined
        ? {}
        : { loadPoliciesFromStore: options.loadPoliciesFromStore }),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const output =
    options.auditOutput ?? (options.auditSink === undefined ? openAuditOutput(config, logger) : undefined);
  const audit = createAuditLog(output?.sink ?? (options.auditSink as AuditSink));
  const custody = options.custody?.(state, store);
  const rotation = options.rotation?.(state, store, custody);
  // Keeper sync follows a rotation made elsewhere before it overwrites a keeper's other share.
  if (rotation !== undefined) custody?.followKeyWith?.(() => rotation.follow());
  const now = options.now ?? Date.now;
  const authz = createAuthorizer(config.trustRoots, state.policies);
  const policiesFresh = state.policiesFresh;
  const routes = options.routes({
    store,
    state,
    config,
    authz,
    custody,
    ...(rotation === undefined ? {} : { rotation }),
    now,
    approvals: new ApprovalService({
      store,
      engine: state.policies,
      now,
      ...(options.usesGrants === undefined ? {} : { usesGrants: options.usesGrants }),
    }),
    policyQueue: createSerialQueue(),
    ...(output?.chain === undefined
      ? {}
      : {
          auditChain: {
            publicKeyPem: output.chain.signer.publicKeyPem,
            keyId: output.chain.signer.keyId,
            lastCheckpoint: () => output.chain?.sink.lastCheckpoint() ?? '',
          },
        }),
  });
  const pipeline: RequestHandlerOptions = {
    routes,
    isReady: () => state.isReady(),
    audit,
    logger,
    maxBodySize: config.maxRequestBodySize,
    peerId: options.peerId ?? tlsPeerId,
    ...(options.bodyReadBefore === undefined ? {} : { bodyReadBefore: options.bodyReadBefore }),
    ...(policiesFresh === undefined
      ? {}
      : {
          policiesFresh: (caller: Caller) => (authz.usesPolicies(caller) ? policiesFresh() : undefined),
        }),
    ...(output?.syslog === undefined
      ? {}
      : { writeAllowed: (route: Route) => !isMutating(route) || output.writesAllowed() }),
    ...(metrics === undefined ? {} : { metrics: metrics.requests }),
    ...(options.now === undefined ? {} : { now: options.now }),
  };
  const handler = createRequestHandler(pipeline);
  // The people listener and the console are metered too; people count by their role only.
  const handlerFor = (door: Pick<RequestHandlerOptions, 'door' | 'person'>): RequestListener =>
    createRequestHandler({ ...pipeline, ...door });
  const front = options.front === undefined ? handler : options.front(handler);
  // Per-caller limits where callers connect, before anything else; requests an API thread hands
  // to the main thread were counted by that thread (they reach `handler` directly).
  const limiter = createCallerLimiter(threadRateLimit(config), options.now === undefined ? {} : { now });
  const server = createMtlsServer(
    options.source,
    {
      headersTimeoutMs: config.headersTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      ...apiListenerLimits(config),
      logger,
    },
    limiter === undefined
      ? front
      : limitCallers(front, {
          limiter,
          peerId: tlsPeerId,
          audit,
          now,
          ...(metrics === undefined ? {} : { metrics: metrics.requests }),
        }),
  );
  return { store, state, audit, custody, rotation, handler, handlerFor, server };
}

/**
 * Listens on `port` (0 = any free port). `reusePort` only with API threads: otherwise a second
 * Nexus on the port must fail to start.
 */
export function listenOn(
  server: HttpServer | HttpsServer,
  port: number,
  host: string | undefined,
  reusePort = false,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ port, host, ...(reusePort ? { reusePort: true } : {}) }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
