/**
 * Response writers. Every response carries SPIKE's no-cache headers and our `X-Request-Id`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_TYPE_JSON, CONTENT_TYPE_OCTET_STREAM, NO_CACHE_HEADERS } from '@spike-ts/protocol';

export const REQUEST_ID_HEADER = 'X-Request-Id';

function writeHead(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  contentType: string,
  length: number,
  requestId: string,
): void {
  const headers: Record<string, string | number> = {
    ...NO_CACHE_HEADERS,
    'Content-Type': contentType,
    'Content-Length': length,
    'X-Content-Type-Options': 'nosniff',
    [REQUEST_ID_HEADER]: requestId,
  };
  // A body we did not read (rejected early) must not be parsed as the next request; closing the
  // connection also stops us from draining an arbitrarily large upload.
  if (!req.complete) headers.Connection = 'close';
  res.writeHead(status, headers);
}

export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  writeHead(req, res, status, CONTENT_TYPE_JSON, payload.length, requestId);
  res.end(payload);
}

export function sendOctets(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: Uint8Array,
  requestId: string,
): void {
  writeHead(req, res, status, CONTENT_TYPE_OCTET_STREAM, body.length, requestId);
  // The body may be decrypted plaintext (stream-mode decrypt): wipe it once it has left.
  res.once('close', () => body.fill(0));
  res.end(body);
}

/** Plain-text error body as Go's `http.Error` writes it (text plus a newline). */
export function sendText(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  text: string,
  requestId: string,
): void {
  const payload = Buffer.from(`${text}\n`, 'utf8');
  writeHead(req, res, status, 'text/plain; charset=utf-8', payload.length, requestId);
  res.end(payload);
}
