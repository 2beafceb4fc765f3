/**
 * `secret get` on an API thread over SQLite while policies carry approval rules (ADR 0042).
 *
 * Using up a grant is a write, and on SQLite only the main thread writes, so a read that a rule
 * gates must be answered there. Which path a read names is in its body, so while any rule exists
 * the thread reads the (size-limited) body first: a path no rule gates for reading is answered
 * here, as without rules; a gated path, or a body that names no path, goes to the main thread
 * with the body already read. A body without a declared size, or above the limit, goes to the
 * main thread unread, which streams it and answers 413 as on its own port. Without rules none of
 * this runs: the thread answers every `secret get` itself.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { readBody } from '../http/body.ts';
import { declaresBodyWithin } from './direct.ts';

export interface GatedReadsOptions {
  readonly maxBodySize: number;
  /** Whether an approval rule gates reading `path` now. */
  readonly gates: (path: string) => boolean;
  /** Hands the request, body unread, to the main thread. */
  readonly forward: RequestListener;
  /** Hands the request and its body, already read, to the main thread (the body is taken over). */
  readonly forwardRead: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
}

export interface GatedReads {
  /** Answers `req` with `local` here or on the main thread, as the header says. */
  answer(req: IncomingMessage, res: ServerResponse, local: RequestListener): void;
  /** The body read for a request answered here, once (the handler takes it over). */
  bodyReadBefore(req: IncomingMessage): Buffer | undefined;
}

/** The `path` a `secret get` body names, or undefined when it names none (the handler says why). */
export function secretPathOf(body: Uint8Array): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const path = (parsed as { path?: unknown }).path;
  return typeof path === 'string' ? path : undefined;
}

export function createGatedReads(opts: GatedReadsOptions): GatedReads {
  const read = new WeakMap<IncomingMessage, Buffer>();
  return {
    answer(req, res, local) {
      if (!declaresBodyWithin(req, opts.maxBodySize)) {
        opts.forward(req, res);
        return;
      }
      readBody(req, opts.maxBodySize).then(
        (body) => {
          const path = secretPathOf(body);
          if (path === undefined || opts.gates(path)) {
            opts.forwardRead(req, res, body);
            return;
          }
          read.set(req, body);
          local(req, res);
        },
        () => res.destroy(),
      );
    },
    bodyReadBefore(req) {
      const body = read.get(req);
      if (body !== undefined) read.delete(req);
      return body;
    },
  };
}
