/**
 * @module fake-nexus
 * A small fake SPIKE Nexus for client tests: a real mTLS HTTPS server on 127.0.0.1 (port 0)
 * that answers the routes of SPIKE 0.8.2 (Appendix B of the reference) from in-memory state.
 * Authorization is role based only: the Pilot superuser may use secrets, policies and cipher;
 * the recover/restore roles their routes. Test-only; never exported from the package entry.
 */
import { createServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { FakeHttpError, FakeNexusState, badRequest, notFound } from './fake-nexus-state.ts';

export interface FakeNexusOptions {
  /** PEM private key and certificate chain (leaf first) of the server's SVID. */
  keyPem: string;
  certPem: string;
  /** PEM roots the server trusts for client certificates. */
  caPem: string | string[];
  /** Trust domain of the Pilot roles (default `spike.ist`). */
  trustDomain?: string;
  /** Recovery shards returned by `/v1/operator/recover` (index → 32 bytes). */
  shards?: Record<string, number[]>;
  /** Shares needed by `/v1/operator/restore` before it reports `restored` (default 2). */
  threshold?: number;
  /**
   * What a get or delete of a missing policy answers: 404 `api_not_found` as our Nexus (default),
   * or 500 `api_internal_error` as SPIKE 0.8.2's Nexus does.
   */
  missingPolicyStatus?: 404 | 500;
}

export interface RecordedRequest {
  path: string;
  action: string;
  contentType: string;
  peerId: string;
  body: Buffer;
}

export interface FakeNexus {
  readonly url: string;
  readonly state: FakeNexusState;
  readonly requests: RecordedRequest[];
  /** When false, every route but recover/restore answers 503 `state_not_ready`. */
  ready: boolean;
  /** When set, every request is answered with this status and raw body. */
  override: { status: number; body: string; contentType?: string } | undefined;
  /** TLS connections accepted so far (keep-alive reuse shows as a small number). */
  connections: number;
  /** Restore progress: share ids received so far. */
  readonly restored: Set<number>;
  /**
   * `names`: get/delete of these answer 500; `list`: the policy list answers 500;
   * `damagedRows`: the policy list reports this many damaged rows (SPIKE-TS's additive field).
   */
  readonly policyFaults: { readonly names: Set<string>; list: boolean; damagedRows: number };
  close(): Promise<void>;
}

type Role = 'superuser' | 'recover' | 'restore';

function peerIdOf(req: IncomingMessage): string {
  const cert = (req.socket as TLSSocket).getPeerX509Certificate();
  const san = cert?.subjectAltName ?? '';
  const uri = san.split(', ').find((s) => s.startsWith('URI:'));
  return uri === undefined ? '' : uri.slice(4);
}

export async function startFakeNexus(opts: FakeNexusOptions): Promise<FakeNexus> {
  const td = opts.trustDomain ?? 'spike.ist';
  const hasRole = (id: string, role: Role) => {
    const base = `spiffe://${td}/spike/pilot/role/${role}`;
    return id === base || id.startsWith(base + '/');
  };
  const state = new FakeNexusState();
  const threshold = opts.threshold ?? 2;
  const fake: FakeNexus = {
    url: '',
    state,
    requests: [],
    ready: true,
    override: undefined,
    connections: 0,
    restored: new Set(),
    policyFaults: { names: new Set(), list: false, damagedRows: 0 },
    close: () => Promise.resolve(),
  };

  const missingPolicy = (): FakeHttpError =>
    opts.missingPolicyStatus === 500 ? new FakeHttpError(500, 'api_internal_error') : notFound();

  const handle = (rec: RecordedRequest, res: ServerResponse): void => {
    const key = `${rec.path}?${rec.action}`;
    const operator = rec.path === '/v1/operator/recover' || rec.path === '/v1/operator/restore';
    if (!fake.ready && !operator) throw new FakeHttpError(503, 'state_not_ready');
    const need: Role =
      rec.path === '/v1/operator/recover'
        ? 'recover'
        : rec.path === '/v1/operator/restore'
          ? 'restore'
          : 'superuser';
    if (!hasRole(rec.peerId, need)) throw new FakeHttpError(401, 'access_unauthorized');
    const stream = rec.contentType === 'application/octet-stream';
    if (stream && (key === '/v1/cipher/encrypt?' || key === '/v1/cipher/decrypt?')) {
      let out: Buffer;
      if (key === '/v1/cipher/encrypt?') {
        const { nonce, ciphertext } = state.encrypt(rec.body);
        out = Buffer.concat([Buffer.from([1]), nonce, ciphertext]);
      } else {
        if (rec.body[0] !== 1) throw new FakeHttpError(400, 'crypto_unsupported_version');
        out = state.decrypt(rec.body.subarray(1, 13), rec.body.subarray(13));
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(out);
      return;
    }
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(rec.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw badRequest();
    }
    const str = (k: string): string => {
      const v = b[k];
      return typeof v === 'string' ? v : '';
    };
    const num = (k: string): number => {
      const v = b[k];
      return typeof v === 'number' ? v : 0;
    };
    const nums = (k: string): number[] => (Array.isArray(b[k]) ? (b[k] as number[]) : []);
    let answer: unknown = {};
    switch (key) {
      case '/v1/store/secrets?':
        state.put(str('path'), (b['values'] ?? {}) as Record<string, string>);
        break;
      case '/v1/store/secrets?get':
        answer = { data: state.get(str('path'), num('version')) };
        break;
      case '/v1/store/secrets?delete':
        state.delete(str('path'), nums('versions'));
        break;
      case '/v1/store/secrets?undelete':
        state.undelete(str('path'), nums('versions'));
        break;
      case '/v1/store/secrets?list':
        answer = { keys: [...state.secrets.keys()].sort() };
        break;
      case '/v1/store/secrets/metadata?get':
        answer = state.metadata(str('path'), num('version'));
        break;
      case '/v1/acl/policy?':
        state.putPolicy({
          name: str('name'),
          spiffeidPattern: str('spiffeidPattern'),
          pathPattern: str('pathPattern'),
          permissions: (b['permissions'] ?? []) as string[],
        });
        break;
      case '/v1/acl/policy?get': {
        const p = state.policies.get(str('id'));
        if (fake.policyFaults.names.has(str('id'))) throw new FakeHttpError(500, 'api_internal_error');
        if (p === undefined) throw missingPolicy();
        answer = {
          id: '',
          name: p.name,
          spiffiedPattern: p.spiffeidPattern,
          pathPattern: p.pathPattern,
          permissions: p.permissions,
          createdAt: p.createdAt,
          updatedAt: p.updatedAt,
        };
        break;
      }
      case '/v1/acl/policy?delete':
        if (fake.policyFaults.names.has(str('id'))) throw new FakeHttpError(500, 'api_internal_error');
        if (!state.policies.delete(str('id'))) throw missingPolicy();
        break;
      case '/v1/acl/policy?list': {
        if (fake.policyFaults.list) throw new FakeHttpError(500, 'api_internal_error');
        const byId = str('spiffeidPattern');
        const byPath = str('pathPattern');
        const list = [...state.policies.values()].filter((p) =>
          byId !== '' ? p.spiffeidPattern === byId : byPath !== '' ? p.pathPattern === byPath : true,
        );
        const damaged = fake.policyFaults.damagedRows;
        answer = {
          policies: list.map((p) => ({ id: '', name: p.name })),
          ...(damaged > 0 ? { damagedRows: damaged } : {}),
        };
        break;
      }
      case '/v1/cipher/encrypt?': {
        const { nonce, ciphertext } = state.encrypt(Buffer.from(str('plaintext'), 'base64'));
        answer = { version: 1, nonce: nonce.toString('base64'), ciphertext: ciphertext.toString('base64') };
        break;
      }
      case '/v1/cipher/decrypt?':
        if (num('version') !== 1) throw badRequest();
        answer = {
          plaintext: state
            .decrypt(Buffer.from(str('nonce'), 'base64'), Buffer.from(str('ciphertext'), 'base64'))
            .toString('base64'),
        };
        break;
      case '/v1/operator/recover?':
        answer = { shards: opts.shards ?? {} };
        break;
      case '/v1/operator/restore?': {
        const shard = nums('shard');
        if (num('id') < 1 || shard.length !== 32 || shard.every((x) => x === 0)) throw badRequest();
        fake.restored.add(num('id'));
        const collected = fake.restored.size;
        if (collected >= threshold) fake.ready = true;
        answer = {
          collected,
          remaining: Math.max(0, threshold - collected),
          restored: collected >= threshold,
        };
        break;
      }
      default:
        throw badRequest();
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  };

  const server: Server = createServer(
    {
      key: opts.keyPem,
      cert: opts.certPem,
      ca: opts.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'https://fake');
        const rec: RecordedRequest = {
          path: u.pathname,
          action: u.searchParams.get('action') ?? '',
          contentType: String(req.headers['content-type'] ?? ''),
          peerId: peerIdOf(req),
          body: Buffer.concat(chunks),
        };
        fake.requests.push(rec);
        if (fake.override !== undefined) {
          res.writeHead(fake.override.status, {
            'content-type': fake.override.contentType ?? 'application/json',
          });
          res.end(fake.override.body);
          return;
        }
        try {
          if (req.method !== 'POST') throw badRequest();
          handle(rec, res);
        } catch (err) {
          const e = err instanceof FakeHttpError ? err : new FakeHttpError(500, 'api_internal_error');
          const plain = rec.contentType === 'application/octet-stream' && e.status !== 401;
          res.writeHead(e.status, { 'content-type': plain ? 'text/plain' : 'application/json' });
          res.end(plain ? `${e.code}\n` : JSON.stringify({ err: e.code }));
        }
      });
    },
  );
  server.on('secureConnection', () => {
    fake.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return Object.assign(fake, {
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
