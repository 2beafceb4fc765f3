/**
 * The request pipeline of both doors (mTLS API and people listener, ADR 0035): route match
 * (`POST` + exact path + `?action=`) → caller identity (401; on the mTLS door a request carrying
 * an `Authorization` header is refused: tokens are for the people listener only) → not-ready gate
 * (503) → audit write gate (503, ADR 0029) → the route (JSON or raw) → one audit record naming
 * the door and the caller.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ACTIONS as ROUTE_ACTIONS,
  ErrorCode,
  ERROR_CODES,
  parseJsonBody,
  PlainTextError,
} from '@spike-ts/protocol';
import { callerName, randomUuid, workloadCaller } from '@spike-ts/core';
import type { Caller, Door, Logger } from '@spike-ts/core';
import type { AuditDecision, AuditLog } from '../audit.ts';
import type { RequestMetrics, RouteMeter } from '../metrics/request-metrics.ts';
import type { AuditNote, AuditSubject, Route, RouteContext } from '../route/route.ts';
import { readBody } from './body.ts';
import { toWireError } from './error-map.ts';
import { sendJson, sendOctets, sendText } from './respond.ts';

export interface RequestHandlerOptions {
  readonly routes: readonly Route[];
  readonly isReady: () => boolean;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly maxBodySize: number;
  /** The caller's SPIFFE ID if present and SPIKE-compatible, else undefined (the mTLS door). */
  readonly peerId: (req: IncomingMessage) => string | undefined;
  /** Default `mtls`. */
  readonly door?: Door;
  /**
   * The people door: the person a validated token proved (`peerId` is then not used), and the
   * short reason a token was refused, for the audit record.
   */
  readonly person?: {
    readonly callerOf: (req: IncomingMessage) => Caller | undefined;
    readonly refusalOf: (req: IncomingMessage) => string | undefined;
  };
  /**
   * False when the route named must be refused now: a mutation while the audit aggregator cannot
   * take records under the `block` policy. Default: always allowed.
   */
  readonly writeAllowed?: (route: Route) => boolean;
  /**
   * Resolves once the policies this caller's authorization consults are current (a store shared
   * by several Nexus processes, ADR 0032); undefined when nothing needs waiting for. Runs right
   * before `authorize`; a rejection (database down) fails the request like a store error.
   */
  readonly policiesFresh?: (caller: Caller) => Promise<void> | undefined;
  /**
   * The body of `req` when something in front of the handler already read it (an API thread
   * that looked at the path first); the handler then owns, and zeroes, that buffer.
   */
  readonly bodyReadBefore?: (req: IncomingMessage) => Buffer | undefined;
  /** Counts every answered request (as audited) by route, action, status and caller role. */
  readonly metrics?: RequestMetrics;
  readonly now?: () => number;
  readonly newRequestId?: () => string;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const ACTIONS: ReadonlySet<string> = new Set(ROUTE_ACTIONS);

function routeKey(path: string, action: string): string {
  return `${action} ${path}`;
}

interface Target {
  readonly path: string;
  readonly action: string;
}

function parseTarget(rawUrl: string | undefined): Target | undefined {
  if (rawUrl === undefined || rawUrl.length > 8192) return undefined;
  try {
    const url = new URL(rawUrl, 'https://nexus.invalid');
    return { path: url.pathname, action: url.searchParams.get('action') ?? '' };
  } catch {
    return undefined;
  }
}

/** Most distinct request targets remembered; clients send the same few URLs over and over. */
const TARGET_CACHE_SIZE = 64;

export function createRequestHandler(options: RequestHandlerOptions): RequestHandler {
  const table = new Map<string, Route>();
  for (const route of options.routes) {
    const key = routeKey(route.path, route.action);
    if (table.has(key)) throw new Error(`duplicate route ${route.name}`);
    table.set(key, route);
  }
  const now = options.now ?? Date.now;
  const door: Door = options.door ?? 'mtls';
  const person = options.person;
  // One meter per route, bound here; a request that names no route counts as `unknown`.
  const metrics = options.metrics;
  const meters = new Map<Route, RouteMeter>();
  if (metrics !== undefined) for (const route of options.routes) meters.set(route, metrics.meter(route));
  const unknownMeter = metrics?.meter(undefined);
  const newRequestId = options.newRequestId ?? randomUuid;
  // URL parsing is deterministic, so the parse of a target that names a route is kept (bounded)
  // instead of building a WHATWG URL for every request.
  const targets = new Map<string, Target>();
  const targetOf = (rawUrl: string | undefined): Target | undefined => {
    if (rawUrl === undefined) return undefined;
    const hit = targets.get(rawUrl);
    if (hit !== undefined) return hit;
    const parsed = parseTarget(rawUrl);
    if (
      parsed !== undefined &&
      targets.size < TARGET_CACHE_SIZE &&
      table.has(routeKey(parsed.path, parsed.action))
    ) {
      targets.set(rawUrl, parsed);
    }
    return parsed;
  };

  return (req, res) => {
    const started = now();
    const startedPrecise = metrics === undefined ? 0 : performance.now();
    const requestId = newRequestId();
    const target = targetOf(req.url);
    const route =
      target !== undefined && req.method === 'POST' && ACTIONS.has(target.action)
        ? table.get(routeKey(target.path, target.action))
        : undefined;
    // A known route hit with the wrong method still answers with that route's error shape.
    const shapeRoute =
      route ?? (target === undefined ? undefined : table.get(routeKey(target.path, target.action)));

    // Known before the route: every record of a verified session names its caller.
    let who: Caller | undefined;
    let reason: string | undefined;
    if (person === undefined) {
      const id = options.peerId(req);
      who = id === undefined ? undefined : workloadCaller(id);
      // Tokens are accepted on the people listener only (ADR 0035): refuse, never ignore, them here.
      if (who !== undefined && req.headers.authorization !== undefined) {
        who = undefined;
        reason = 'token_on_mtls_port';
      }
    } else {
      who = person.callerOf(req);
      reason = who === undefined ? (person.refusalOf(req) ?? 'missing_token') : undefined;
    }
    const peerId = who === undefined ? undefined : callerName(who);
    let decision: AuditDecision = 'none';
    let subject: AuditSubject = {};
    let note: AuditNote = {};

    const finish = (status: number, err: string | undefined): void => {
      options.audit.record({
        time: new Date(started).toISOString(),
        requestId,
        caller: peerId ?? null,
        door,
        ...(who?.kind === 'person' ? { principal: who.principal, groups: who.groups } : {}),
        ...(reason === undefined ? {} : { reason }),
        route: target?.path ?? '',
        action: target?.action ?? '',
        ...subject,
        ...note,
        decision,
        status,
        ...(err === undefined ? {} : { err }),
        durationMs: Math.max(0, now() - started),
      });
      if (metrics !== undefined) {
        const meter = (route === undefined ? undefined : meters.get(route)) ?? unknownMeter;
        meter?.finish(
          metrics.roleOf(peerId, who?.kind === 'person' ? who.role : undefined),
          status,
          decision,
          (performance.now() - startedPrecise) / 1000,
        );
      }
    };
    const fail = (code: ErrorCode, shape: Route | undefined): void => {
      const status = ERROR_CODES[code].status;
      sendJson(req, res, status, { ...(shape?.errorBody ?? {}), err: code }, requestId);
      finish(status, code);
    };

    if (route === undefined) {
      fail(ErrorCode.BadRequest, shapeRoute);
      return;
    }
    if (who === undefined || peerId === undefined) {
      decision = 'denied';
      fail(ErrorCode.Unauthorized, route);
      return;
    }
    const caller: Caller = who;
    if (route.allowWhenNotReady !== true && !options.isReady()) {
      fail(ErrorCode.NotReady, route);
      return;
    }
    if (options.writeAllowed !== undefined && !options.writeAllowed(route)) {
      // Fail closed: no mutation without an audit trail the aggregator can take. Retryable.
      res.setHeader('Retry-After', '1');
      fail(ErrorCode.NotReady, route);
      return;
    }

    // The per-request child logger is built only when something is logged.
    let requestLogger: Logger | undefined;
    const log = (): Logger => (requestLogger ??= options.logger.child({ requestId, route: route.name }));
    const ctx: RouteContext = {
      requestId,
      peerId,
      caller,
      door,
      req,
      get logger() {
        return log();
      },
      readBody: () => {
        const before = options.bodyReadBefore?.(req);
        return before === undefined ? readBody(req, options.maxBodySize) : Promise.resolve(before);
      },
      note: (fields) => {
        note = { ...note, ...fields };
      },
    };

    const run = async (): Promise<void> => {
      if (route.kind === 'raw') {
        const waiting = options.policiesFresh?.(caller);
        if (waiting !== undefined) await waiting;
        if (!route.authorize(caller)) {
          decision = 'denied';
          fail(ErrorCode.Unauthorized, route);
          return;
        }
        decision = 'allowed';
        const result = await route.handle(ctx);
        if (result.kind === 'octets') sendOctets(req, res, result.status, result.body, requestId);
        else sendJson(req, res, result.status, result.body, requestId);
        finish(result.status, undefined);
        return;
      }
      const body = await ctx.readBody();
      let decoded: unknown;
      try {
        decoded = route.decode(parseJsonBody(body));
      } finally {
        body.fill(0);
      }
      try {
        subject = route.subject(decoded);
        const waiting = options.policiesFresh?.(caller);
        if (waiting !== undefined) await waiting;
        if (!route.authorize(caller, decoded)) {
          decision = 'denied';
          fail(ErrorCode.Unauthorized, route);
          return;
        }
        decision = 'allowed';
        const request = route.validate(decoded);
        const result = await route.handle(request, ctx);
        sendJson(req, res, 200, result, requestId);
        finish(200, undefined);
      } finally {
        route.dispose?.(decoded);
      }
    };

    run().catch((err: unknown) => {
      if (res.headersSent) {
        log().error('failure after the response was sent', { err });
        res.destroy();
        return;
      }
      if (err instanceof PlainTextError) {
        log().info('stream request rejected', { code: err.code, detail: err.message });
        sendText(req, res, err.status, err.code, requestId);
        finish(err.status, err.code);
        return;
      }
      const wire = toWireError(err);
      // Refused by the handler after what it looked up (an approver check, a missing grant).
      if (wire.code === ErrorCode.Unauthorized || wire.code === ErrorCode.ApprovalRequired)
        decision = 'denied';
      if (wire.internal) log().error('request failed', { err });
      else log().info('request rejected', { code: wire.code, err });
      fail(wire.code, route);
    });
  };
}
