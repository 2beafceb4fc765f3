/**
 * Test kit for the Nexus suites: throwaway CAs and SVIDs, an in-process Nexus on loopback with a
 * memory audit sink, and a raw mTLS client that can send anything (any method, no certificate,
 * a foreign certificate).
 */
import { request } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStaticX509Source } from '@spike-ts/identity';
import { bundlesFromCas, createCa, issueSvid, svidFromMinted, type MintedCa } from '@spike-ts/identity/mint';
import { createMemoryStore, createSqliteStore } from '@spike-ts/store';
import { createLogger, randomBytes, type SecretStore } from '@spike-ts/core';
import {
  createMemoryAuditSink,
  createNexus,
  loadConfig,
  type CustodyFactory,
  type Env,
  type Nexus,
  type NexusConfig,
} from '@spike-ts/nexus';

export const TD = 'spike.ist';
export const ID = {
  nexus: `spiffe://${TD}/spike/nexus`,
  superuser: `spiffe://${TD}/spike/pilot/role/superuser`,
  recover: `spiffe://${TD}/spike/pilot/role/recover`,
  restore: `spiffe://${TD}/spike/pilot/role/restore`,
  bootstrap: `spiffe://${TD}/spike/bootstrap`,
  lite: `spiffe://${TD}/spike/workload/role/lite`,
  keeper: `spiffe://${TD}/spike/keeper`,
  stranger: `spiffe://${TD}/workload/stranger`,
  reader: `spiffe://${TD}/workload/reader`,
  writer: `spiffe://${TD}/workload/writer`,
} as const;

export interface ClientCert {
  readonly id: string;
  readonly keyPem: string;
  readonly certPem: string;
}

export interface Pki {
  readonly ca: MintedCa;
  readonly caPem: string;
  /** A certificate for `id` issued by the trusted CA (cached). */
  cert(id: string): Promise<ClientCert>;
  /** A certificate from a CA of another trust domain that the Nexus does not trust. */
  foreignCert(): Promise<ClientCert>;
}

export async function createPki(): Promise<Pki> {
  const ca = await createCa({ trustDomain: TD });
  const cache = new Map<string, Promise<ClientCert>>();
  const mint = async (issuer: MintedCa, id: string): Promise<ClientCert> => {
    const svid = await issueSvid(issuer, { spiffeId: id });
    return { id, keyPem: svid.keyPem, certPem: svid.certPem };
  };
  let foreign: Promise<ClientCert> | undefined;
  return {
    ca,
    caPem: ca.certPem,
    cert(id) {
      let c = cache.get(id);
      if (c === undefined) {
        c = mint(ca, id);
        cache.set(id, c);
      }
      return c;
    },
    foreignCert() {
      foreign ??= createCa({ trustDomain: 'evil.example' }).then((other) =>
        mint(other, `spiffe://evil.example/spike/pilot/role/superuser`),
      );
      return foreign;
    },
  };
}

export interface TestNexus {
  readonly nexus: Nexus;
  readonly config: NexusConfig;
  readonly port: number;
  readonly audit: ReturnType<typeof createMemoryAuditSink>;
  /** Every operational log line (debug level and up). */
  readonly logs: string[];
  readonly store: SecretStore;
  readonly dataDir: string | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly backend?: 'memory' | 'sqlite';
  readonly env?: Env;
  readonly custodyFactory?: CustodyFactory;
  /** sqlite only: install this root key right after start (default: a random key; null = stay locked). */
  readonly rootKey?: Uint8Array | null;
  /** Clock for the Nexus (epoch ms). */
  readonly now?: () => number;
  /**
   * A store of the caller's (e.g. PostgreSQL, for replicas sharing one database); configured as
   * `sqlite` otherwise (keepers unreachable), and `rootKey` is installed in it after start.
   */
  readonly store?: SecretStore;
  /** Shortest time between two scrapes of `/metrics` that collect afresh (default: Nexus's). */
  readonly metricsMinIntervalMs?: number;
}

export async function startNexus(pki: Pki, opts: StartOptions = {}): Promise<TestNexus> {
  const backend = opts.store === undefined ? (opts.backend ?? 'memory') : 'sqlite';
  const dataDir = backend === 'sqlite' ? await mkdtemp(join(tmpdir(), 'spx-nexus-')) : undefined;
  const config = loadConfig(
    {
      SPIKE_NEXUS_BACKEND_STORE: backend,
      SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
      SPIKE_NEXUS_HEALTH_ADDR: '127.0.0.1:0',
      ...(backend === 'sqlite'
        ? {
            SPIKE_NEXUS_DATA_DIR: dataDir,
            SPIKE_NEXUS_KEEPER_PEERS: 'https://127.0.0.1:9,https://127.0.0.1:10,https://127.0.0.1:11',
          }
        : {}),
      ...opts.env,
    },
    { homeDir: tmpdir() },
  );
  const svid = await issueSvid(pki.ca, { spiffeId: ID.nexus });
  const source = createStaticX509Source(svidFromMinted(svid), bundlesFromCas([pki.ca]));
  const store =
    opts.store ??
    (backend === 'sqlite' ? createSqliteStore({ dataDir: config.dataDir }) : createMemoryStore());
  const audit = createMemoryAuditSink();
  const logs: string[] = [];
  const logger = createLogger({
    level: 'debug',
    sink: (line) => void logs.push(line),
    base: { component: 'nexus' },
  });
  const nexus = await createNexus(config, {
    source,
    logger,
    store,
    auditSink: audit,
    ...(opts.now === undefined ? {} : { now: opts.now }),
    ...(opts.metricsMinIntervalMs === undefined ? {} : { metricsMinIntervalMs: opts.metricsMinIntervalMs }),
    ...(opts.custodyFactory === undefined ? {} : { custodyFactory: opts.custodyFactory }),
  });
  const address = await nexus.listen();
  if (backend === 'sqlite' && opts.rootKey !== null) {
    await nexus.state.installRootKey(opts.rootKey ?? randomBytes(32));
  }
  return {
    nexus,
    config,
    port: address.port,
    audit,
    logs,
    store,
    dataDir,
    async close() {
      await nexus.close();
      await source.close();
      if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CallOptions {
  readonly method?: string;
  /** Path plus query, e.g. `/v1/store/secrets?action=get`. */
  readonly path: string;
  /** Objects are sent as JSON; strings and buffers as given. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** null = present no client certificate. */
  readonly client: ClientCert | null;
  /** Send the body chunked (no Content-Length). */
  readonly chunked?: boolean;
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly raw: Buffer;
  readonly text: string;
  json(): Record<string, unknown>;
}

export function call(port: number, pki: Pki, opts: CallOptions): Promise<Reply> {
  const payload =
    opts.body === undefined
      ? undefined
      : Buffer.isBuffer(opts.body) || opts.body instanceof Uint8Array
        ? Buffer.from(opts.body)
        : typeof opts.body === 'string'
          ? Buffer.from(opts.body, 'utf8')
          : Buffer.from(JSON.stringify(opts.body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'POST',
        path: opts.path,
        agent: false,
        ca: pki.caPem,
        ...(opts.client === null ? {} : { key: opts.client.keyPem, cert: opts.client.certPem }),
        checkServerIdentity: () => undefined,
        headers: {
          ...(payload === undefined || opts.chunked === true
            ? {}
            : { 'Content-Length': String(payload.length) }),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const text = raw.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            raw,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined && opts.chunked === true) {
      for (let i = 0; i < payload.length; i += 512) req.write(payload.subarray(i, i + 512));
    } else if (payload !== undefined) {
      req.write(payload);
    }
    req.end();
  });
}

/** A bound `call` for one Nexus. */
export function client(t: TestNexus, pki: Pki) {
  return (opts: CallOptions): Promise<Reply> => call(t.port, pki, opts);
}
