/**
 * The keeper's HTTP API, SPIKE 0.8.2 wire format:
 *   POST /v1/store/contribute {"shard":[32 ints]} -> {}                        (Nexus or Bootstrap)
 *   POST /v1/store/shard      {}                  -> {"shard":[32 ints],"Err":""} (Nexus only)
 * plus our additive, read-only probe
 *   POST /v1/keeper/status    {}                  -> {"hasShard":bool}          (Nexus or Bootstrap)
 * Anything else (other method, unknown path, an `action`) -> 400 {"err":"api_bad_request"}.
 * Authorization happens before the body is read.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '@spike-ts/core';
import {
  ErrorCode,
  NO_CACHE_HEADERS,
  URL_KEEPER_CONTRIBUTE,
  URL_KEEPER_SHARD,
  URL_KEEPER_STATUS,
  decodeShardContributeRequest,
  encodeShardBody,
  parseJsonBody,
} from '@spike-ts/protocol';
import { BodyTooLargeError, readBody } from '@spike-ts/http';
import { isAllZero, type ShardHolder } from './shard-holder.ts';

/** Keeper requests are tiny (`{"shard":[...]}` is under 200 bytes). */
export const DEFAULT_KEEPER_BODY_LIMIT = 4096;

export interface KeeperPeerRoles {
  isNexus(id: string): boolean;
  isBootstrap(id: string): boolean;
}

export interface KeeperHandlerOptions {
  holder: ShardHolder;
  roles: KeeperPeerRoles;
  /** The verified SPIFFE ID of the caller (from the mTLS layer), undefined when unknown. */
  peerId(req: IncomingMessage): string | undefined;
  logger: Logger;
  maxBodyBytes?: number;
}

function send(res: ServerResponse, status: number, body: string | Uint8Array): void {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    ...NO_CACHE_HEADERS,
    'Content-Length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, code: string, shardShape: boolean): void {
  send(res, status, JSON.stringify(shardShape ? { shard: null, Err: code } : { err: code }));
}

function isJsonObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function createKeeperHandler(options: KeeperHandlerOptions): RequestListener {
  const { holder, roles, logger } = options;
  const limit = options.maxBodyBytes ?? DEFAULT_KEEPER_BODY_LIMIT;

  /** Reads and parses the body; on failure answers and returns undefined. */
  async function readJson(req: IncomingMessage, res: ServerResponse, shardShape: boolean): Promise<unknown> {
    let raw: Buffer;
    try {
      raw = await readBody(req, limit);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        sendError(res, 413, ErrorCode.BodyTooLarge, shardShape);
      } else {
        logger.warn('failed to read request body', { error: err });
        sendError(res, 400, ErrorCode.BadRequest, shardShape);
      }
      return undefined;
    }
    try {
      return parseJsonBody(raw);
    } catch {
      sendError(res, 400, ErrorCode.BadRequest, shardShape);
      return undefined;
    } finally {
      raw.fill(0);
    }
  }

  async function contribute(req: IncomingMessage, res: ServerResponse, peer: string): Promise<void> {
    if (!roles.isNexus(peer) && !roles.isBootstrap(peer)) {
      logger.warn('contribute denied', { peer });
      sendError(res, 401, ErrorCode.Unauthorized, false);
      return;
    }
    const body = await readJson(req, res, false);
    if (body === undefined) return;
    let shard: Uint8Array | null;
    try {
      shard = decodeShardContributeRequest(body).shard;
    } catch (err) {
      logger.info('contribute rejected: malformed shard', { peer, reason: (err as Error).message });
      sendError(res, 400, ErrorCode.BadRequest, false);
      return;
    }
    if (shard === null) {
      logger.info('contribute rejected: no shard', { peer });
      sendError(res, 400, ErrorCode.BadRequest, false);
      return;
    }
    try {
      if (isAllZero(shard)) {
        logger.info('contribute rejected: empty shard', { peer });
        sendError(res, 400, ErrorCode.BadRequest, false);
        return;
      }
      holder.set(shard);
    } finally {
      shard.fill(0);
    }
    logger.info('shard stored', { peer });
    send(res, 200, '{}');
  }

  async function shard(req: IncomingMessage, res: ServerResponse, peer: string): Promise<void> {
    if (!roles.isNexus(peer)) {
      logger.warn('shard read denied', { peer });
      sendError(res, 401, ErrorCode.Unauthorized, true);
      return;
    }
    const body = await readJson(req, res, true);
    if (body === undefined) return;
    if (!isJsonObject(body)) {
      sendError(res, 400, ErrorCode.BadRequest, true);
      return;
    }
    const copy = holder.copy();
    if (copy === undefined) {
      logger.info('shard requested but none is held', { peer });
      sendError(res, 400, ErrorCode.BadRequest, true);
      return;
    }
    const out = encodeShardBody(copy, ',"Err":""');
    copy.fill(0);
    res.once('close', () => out.fill(0));
    logger.debug('shard served', { peer });
    send(res, 200, out);
  }

  async function status(req: IncomingMessage, res: ServerResponse, peer: string): Promise<void> {
    if (!roles.isNexus(peer) && !roles.isBootstrap(peer)) {
      sendError(res, 401, ErrorCode.Unauthorized, false);
      return;
    }
    const body = await readJson(req, res, false);
    if (body === undefined) return;
    if (!isJsonObject(body)) {
      sendError(res, 400, ErrorCode.BadRequest, false);
      return;
    }
    send(res, 200, JSON.stringify({ hasShard: holder.hasShard() }));
  }

  const routes: Readonly<Record<string, typeof contribute>> = {
    [URL_KEEPER_CONTRIBUTE]: contribute,
    [URL_KEEPER_SHARD]: shard,
    [URL_KEEPER_STATUS]: status,
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'https://keeper.invalid');
    const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
    const action = url.searchParams.get('action') ?? '';
    if (req.method !== 'POST' || route === undefined || action !== '') {
      req.resume();
      sendError(res, 400, ErrorCode.BadRequest, false);
      return;
    }
    const peer = options.peerId(req);
    if (peer === undefined) {
      req.resume();
      sendError(res, 401, ErrorCode.Unauthorized, url.pathname === URL_KEEPER_SHARD);
      return;
    }
    route(req, res, peer).catch((err: unknown) => {
      logger.error('keeper request failed', { error: err, path: url.pathname });
      if (!res.headersSent) sendError(res, 500, ErrorCode.Internal, url.pathname === URL_KEEPER_SHARD);
      else res.destroy();
    });
  };
}
