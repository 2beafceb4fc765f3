/**
 * Size-limited request body reader for every server (Nexus and keepers). The limit is checked
 * against `Content-Length` before any byte is read and again while streaming, so a caller can
 * never make the server buffer more than `limit` bytes; an aborted or broken connection is a
 * `BodyReadError`. Chunks are zeroed once copied (a share in transit leaves one buffer behind,
 * which the caller zeroes).
 */
import type { IncomingMessage } from 'node:http';
import { BadRequestError, BodyTooLargeError } from '@spike-ts/protocol';

/** The request body exceeded the configured limit: the spine's 413 `api_body_too_large`. */
export { BodyTooLargeError };

/** The connection failed or was aborted while the body was being read (400 `api_bad_request`). */
export class BodyReadError extends BadRequestError {
  override readonly name: string = 'BodyReadError';
}

/** Read the whole body of `req` into one buffer, refusing more than `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (Number.isSafeInteger(n) && n > limit) return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      req.off('close', onClose);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      for (const c of chunks) c.fill(0);
      chunks.length = 0;
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        fail(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      const body = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size);
      if (chunks.length > 1) for (const c of chunks) c.fill(0);
      resolve(body);
    };
    const onError = (err: Error): void => fail(new BodyReadError('request body read failed', { cause: err }));
    const onAborted = (): void => fail(new BodyReadError('request aborted'));
    const onClose = (): void => {
      if (!req.complete) fail(new BodyReadError('connection closed before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onClose);
  });
}
