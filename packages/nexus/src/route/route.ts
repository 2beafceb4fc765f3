/**
 * The route definition types. A route cannot be registered without an `authorize` function:
 * the type requires it, and a table test calls every route as a stranger and expects 401.
 *
 * JSON routes run SPIKE's order: read body → parse → decode types → AUTHORIZE → validate →
 * operate. Raw routes (cipher) authorize before the body is read and read it themselves.
 */
import type { IncomingMessage } from 'node:http';
import type { Action, AnyRouteSpec, ResponseBody, RouteSpec } from '@spike-ts/protocol';
import type { Caller, Door, Logger } from '@spike-ts/core';

/** What the audit record says the request was about (names only, never values). */
export interface AuditSubject {
  readonly path?: string;
  readonly policy?: string;
  /** A store row, `<table>/<lookup id hex>` (damaged-row removal). */
  readonly row?: string;
  /** An approval request's id (ADR 0042). */
  readonly approval?: string;
}

/** What a handler adds to its audit record once it knows (ADR 0042): never values or reasons. */
export interface AuditNote {
  /** The approval request filed, decided, or whose grant was used. */
  readonly approval?: string;
  /** The approval operation (`read`, `write`, `sign`, `decrypt`, `policy`). */
  readonly operation?: string;
  /** The request's status after this call (`used` when a grant was used up). */
  readonly approvalStatus?: string;
}

export interface RouteContext {
  readonly requestId: string;
  /** The caller's name: a SPIFFE ID (checked for SPIKE compatibility) or `user:<name>`. */
  readonly peerId: string;
  /** The verified caller: a workload or a person (ADR 0036). */
  readonly caller: Caller;
  /** Where the request came in. */
  readonly door: Door;
  readonly req: IncomingMessage;
  readonly logger: Logger;
  /** Reads the request body with the server's size limit (413 when over it). */
  readBody(): Promise<Buffer>;
  /** Adds approval fields to this request's audit record. */
  readonly note: (fields: AuditNote) => void;
}

interface RouteBase {
  /** The contract this route implements (method, path, action, bodies, errors). */
  readonly spec: AnyRouteSpec;
  readonly path: string;
  readonly action: Action;
  /** Short stable name for logs, e.g. `secret.get`. */
  readonly name: string;
  /** The response object with every field zeroed; error bodies are this plus `err`. */
  readonly errorBody: Readonly<Record<string, unknown>>;
  /** True only for operator recover/restore: they work while the root key is missing. */
  readonly allowWhenNotReady?: boolean;
}

/** What a JSON route implements; the rest comes from its spec. */
export interface JsonRouteImpl<TReq, TRes> {
  /** What to write into the audit record. */
  subject(req: TReq): AuditSubject;
  /** Is the caller allowed to do this? Runs before validation so strangers learn nothing. */
  authorize(caller: Caller, req: TReq): boolean;
  /** Check values (throws BadRequestError → 400); may return a normalized request. */
  validate(req: TReq): TReq;
  /** Do the work; the result is sent as the 200 JSON body, in the shape the spec gives. */
  handle(req: TReq, ctx: RouteContext): Promise<ResponseBody<TRes>>;
  /** Zero any key material the decoded request holds; runs whatever the outcome. */
  dispose?(req: TReq): void;
}

export interface JsonRoute<TReq> extends RouteBase, Omit<JsonRouteImpl<TReq, unknown>, 'handle'> {
  readonly kind: 'json';
  /** Check the JSON types and build the request (throws BadRequestError → 400): the spec's decoder. */
  decode(body: unknown): TReq;
  handle(req: TReq, ctx: RouteContext): Promise<object>;
}

export type RawResult<TBody = object> =
  | { readonly kind: 'json'; readonly status: number; readonly body: TBody }
  | { readonly kind: 'octets'; readonly status: number; readonly body: Uint8Array };

/** What a raw route implements; the rest comes from its spec. */
export interface RawRouteImpl<TRes> {
  /** Runs before the body is read. */
  authorize(caller: Caller): boolean;
  handle(ctx: RouteContext): Promise<RawResult<ResponseBody<TRes>>>;
}

export interface RawRoute extends RouteBase {
  readonly kind: 'raw';
  authorize(caller: Caller): boolean;
  handle(ctx: RouteContext): Promise<RawResult>;
}

export type Route = JsonRoute<unknown> | RawRoute;

function base(spec: AnyRouteSpec): RouteBase {
  return {
    spec,
    path: spec.path,
    action: spec.action,
    name: spec.name,
    errorBody: spec.errorBody,
    ...(spec.allowWhenNotReady === true ? { allowWhenNotReady: true } : {}),
  };
}

/**
 * Fields a handler's body has beyond the response type. `ResponseBody` alone would let an object
 * with extra fields through (TypeScript checks excess fields only on literals it assigns
 * directly), so `jsonRoute` infers the handler's body type and refuses any extra key.
 */
type ExtraFields<TOut, TRes> = Exclude<keyof TOut, keyof ResponseBody<TRes>>;
type NoExtraFields<TOut, TRes> = [ExtraFields<TOut, TRes>] extends [never]
  ? unknown
  : { readonly 'handle returns fields the response type lacks': ExtraFields<TOut, TRes> };

/** A JSON route implementing `spec`; the request type is erased so routes share one table. */
export function jsonRoute<TWire, TReq, TRes, TOut extends ResponseBody<TRes>>(
  spec: RouteSpec<TWire, TReq, TRes>,
  impl: JsonRouteImpl<TReq, TRes> & {
    handle(req: TReq, ctx: RouteContext): Promise<TOut>;
  } & NoExtraFields<TOut, TRes>,
): Route {
  const route: JsonRoute<TReq> = {
    kind: 'json',
    ...base(spec as unknown as AnyRouteSpec),
    decode: spec.decode,
    subject: (req) => impl.subject(req),
    authorize: (caller, req) => impl.authorize(caller, req),
    validate: (req) => impl.validate(req),
    handle: (req, ctx) => impl.handle(req, ctx),
    ...(impl.dispose === undefined ? {} : { dispose: impl.dispose.bind(impl) }),
  };
  // Method parameters are bivariant, so the erased route still type-checks against `Route`.
  return route;
}

/** A raw route implementing `spec` (it reads its own body; JSON and stream mode). */
export function rawRoute<TWire, TReq, TRes>(
  spec: RouteSpec<TWire, TReq, TRes>,
  impl: RawRouteImpl<TRes>,
): Route {
  return {
    kind: 'raw',
    ...base(spec as unknown as AnyRouteSpec),
    authorize: (caller) => impl.authorize(caller),
    handle: (ctx) => impl.handle(ctx),
  };
}
