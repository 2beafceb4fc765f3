/**
 * The route definition types. A route cannot be registered without an `authorize` function:
 * the type requires it, and a table test calls every route as a stranger and expects 401.
 *
 * JSON routes run SPIKE's order: read body → parse → decode types → AUTHORIZE → validate →
 * operate. Raw routes (cipher) authorize before the body is read and read it themselves.
 */
import type { IncomingMessage } from 'node:http';
import type { Action } from '@spike-ts/protocol';
import type { Logger } from '@spike-ts/core';

/** What the audit record says the request was about (names only, never values). */
export interface AuditSubject {
  readonly path?: string;
  readonly policy?: string;
  /** A store row, `<table>/<lookup id hex>` (damaged-row removal). */
  readonly row?: string;
}

export interface RouteContext {
  readonly requestId: string;
  /** The caller's SPIFFE ID (already checked for SPIKE compatibility). */
  readonly peerId: string;
  readonly req: IncomingMessage;
  readonly logger: Logger;
  /** Reads the request body with the server's size limit (413 when over it). */
  readBody(): Promise<Buffer>;
}

interface RouteBase {
  readonly path: string;
  readonly action: Action;
  /** Short stable name for logs, e.g. `secret.get`. */
  readonly name: string;
  /** The response object with every field zeroed; error bodies are this plus `err`. */
  readonly errorBody: Readonly<Record<string, unknown>>;
  /** True only for operator recover/restore: they work while the root key is missing. */
  readonly allowWhenNotReady?: boolean;
}

export interface JsonRoute<TReq> extends RouteBase {
  readonly kind: 'json';
  /** Check the JSON types and build the request (throws BadRequestError → 400). */
  decode(body: unknown): TReq;
  /** What to write into the audit record. */
  subject(req: TReq): AuditSubject;
  /** Is `peerId` allowed to do this? Runs before validation so strangers learn nothing. */
  authorize(peerId: string, req: TReq): boolean;
  /** Check values (throws BadRequestError → 400); may return a normalized request. */
  validate(req: TReq): TReq;
  /** Do the work; the result is sent as the 200 JSON body. */
  handle(req: TReq, ctx: RouteContext): Promise<Record<string, unknown>>;
  /** Zero any key material the decoded request holds; runs whatever the outcome. */
  dispose?(req: TReq): void;
}

export type RawResult =
  | { readonly kind: 'json'; readonly status: number; readonly body: Record<string, unknown> }
  | { readonly kind: 'octets'; readonly status: number; readonly body: Uint8Array };

export interface RawRoute extends RouteBase {
  readonly kind: 'raw';
  /** Runs before the body is read. */
  authorize(peerId: string): boolean;
  handle(ctx: RouteContext): Promise<RawResult>;
}

export type Route = JsonRoute<unknown> | RawRoute;

/** Erase the request type so routes of different types share one table. */
export function jsonRoute<TReq>(route: Omit<JsonRoute<TReq>, 'kind'>): Route {
  return { kind: 'json', ...route };
}

export function rawRoute(route: Omit<RawRoute, 'kind'>): Route {
  return { kind: 'raw', ...route };
}
