/**
 * Read a request body into one buffer, refusing more than `limit` bytes. Chunks are zeroed once
 * copied, so a shard in transit leaves a single buffer behind (which the caller zeroes).
 */
import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new BodyTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        chunk.fill(0);
        req.resume();
        throw new BodyTooLargeError(limit);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  } finally {
    for (const c of chunks) c.fill(0);
  }
}
