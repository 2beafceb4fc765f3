/**
 * Direct forwarding: how an API worker thread hands a request to the main thread in one message
 * each way, instead of re-sending it as HTTP over a bridge connection (ADR 0034).
 *
 * The worker reads the (size-limited) body, then posts the method, target, end-to-end headers,
 * the caller its mTLS layer verified and the body as one message on its request port. The main
 * thread runs its very same request handler on a request/response pair made for the message
 * (`DirectRequest`, `DirectResponse`: the parts of node:http's objects that the handler uses)
 * and posts the status, headers and body back as one message. A request whose body size is not
 * declared or is above the limit still takes the HTTP bridge (`port-duplex.ts`), so streaming
 * and the 413 answer behave exactly as on the main thread's own port.
 *
 * Bodies travel as transferred buffers (never a view of a shared pool) and are zeroed on both
 * sides once used: a request body may be a secret, a response body is one.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import { readBody } from '@spike-ts/http';

/** A forwarded request (worker → main thread). */
export interface DirectRequestMessage {
  readonly id: number;
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** The caller's SPIFFE ID as the worker's mTLS layer verified it ('' = none). */
  readonly peer: string;
  readonly body: Uint8Array;
}

/** Its answer (main thread → worker); `failed` when the handler destroyed the response. */
export type DirectResponseMessage =
  | {
      readonly id: number;
      readonly status: number;
      readonly headers: Readonly<Record<string, string | number | string[]>>;
      readonly body: Uint8Array;
    }
  | { readonly id: number; readonly failed: true };

/** A copy of `bytes` in an ArrayBuffer of its own, for transfer; `bytes` is zeroed. */
function detachedCopy(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  bytes.fill(0);
  return copy;
}

/** The request the main thread's handler sees: headers, target, and the body as a stream. */
class DirectRequest extends Readable {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[]>;
  readonly socket: object;
  readonly httpVersion = '1.1';
  readonly complete = true;
  readonly aborted = false;

  constructor(msg: DirectRequestMessage, socket: object, peerHeader: string) {
    super();
    this.method = msg.method;
    this.url = msg.url;
    this.headers = { ...msg.headers, [peerHeader]: msg.peer };
    this.socket = socket;
    if (msg.body.length > 0) this.push(Buffer.from(msg.body.buffer, msg.body.byteOffset, msg.body.length));
    this.push(null);
  }

  override _read(): void {
    // The whole body was pushed at construction.
  }
}

/** The response the main thread's handler writes: collected, then posted as one message. */
class DirectResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  readonly #headers: Record<string, string | number | string[]> = {};
  readonly #post: (msg: DirectResponseMessage, transfer?: ArrayBuffer[]) => void;
  readonly #id: number;

  constructor(id: number, post: (msg: DirectResponseMessage, transfer?: ArrayBuffer[]) => void) {
    super();
    this.#id = id;
    this.#post = post;
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.#headers[name.toLowerCase()] = typeof value === 'object' ? [...value] : value;
    return this;
  }

  getHeader(name: string): string | number | string[] | undefined {
    return this.#headers[name.toLowerCase()];
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    this.statusCode = status;
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (value !== undefined) this.setHeader(name, value);
    }
    this.headersSent = true;
    return this;
  }

  end(body?: Uint8Array | string): this {
    if (this.writableEnded || this.destroyed) return this;
    this.headersSent = true;
    this.writableEnded = true;
    const bytes =
      body === undefined
        ? new Uint8Array(0)
        : typeof body === 'string'
          ? new Uint8Array(Buffer.from(body, 'utf8'))
          : // The handler may zero its own buffer once the response closes (`sendOctets`).
            Uint8Array.from(body);
    this.#post({ id: this.#id, status: this.statusCode, headers: this.#headers, body: bytes }, [
      bytes.buffer,
    ]);
    this.emit('finish');
    this.emit('close');
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (!this.writableEnded) this.#post({ id: this.#id, failed: true });
    this.emit('close');
    return this;
  }
}

/**
 * Main thread: answers the requests a worker posts on `port` with `handler`. `socket` stands for
 * the worker's connections (the handler's peer lookup trusts `peerHeader` on it only).
 */
export function serveDirect(
  port: MessagePort,
  handler: RequestListener,
  socket: object,
  peerHeader: string,
): void {
  const post = (msg: DirectResponseMessage, transfer?: ArrayBuffer[]): void => {
    port.postMessage(msg, transfer ?? []);
  };
  port.on('message', (msg: DirectRequestMessage) => {
    const req = new DirectRequest(msg, socket, peerHeader);
    const res = new DirectResponse(msg.id, post);
    res.once('close', () => msg.body.fill(0));
    handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
}

/** Hop-by-hop headers, never forwarded (and `connection` only as `close`). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'date',
]);

/** The headers a proxy passes on: all but the hop-by-hop ones and `drop`. */
export function endToEnd(
  headers: Readonly<Record<string, string | number | string[] | undefined>>,
  drop: string,
): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value !== undefined && name !== drop && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/**
 * Whether `req` declares a body of at most `maxBodySize` bytes (or none), so that a worker may
 * read it whole; chunked and oversized bodies are left to the main thread's streaming path.
 */
export function declaresBodyWithin(req: IncomingMessage, maxBodySize: number): boolean {
  const declared = req.headers['content-length'];
  const size = declared === undefined ? 0 : Number(declared);
  return (
    req.headers['transfer-encoding'] === undefined &&
    Number.isSafeInteger(size) &&
    size >= 0 &&
    size <= maxBodySize
  );
}

export interface DirectClient {
  /**
   * Forwards `req` if its body is declared and at most `maxBodySize` bytes; false (and nothing
   * read) otherwise, so that the caller can use the HTTP bridge.
   */
  forward(req: IncomingMessage, res: ServerResponse, peer: string): boolean;
  /**
   * Forwards `req` whose body the worker has already read (`body`, taken over and zeroed): for a
   * request it looked into before choosing where it is answered.
   */
  forwardRead(req: IncomingMessage, res: ServerResponse, peer: string, body: Uint8Array): void;
  /** Fails the requests still waiting for an answer (their connections are closed). */
  close(): void;
}

/** Worker: forwards requests over `port` to `serveDirect` on the main thread. */
export function createDirectClient(port: MessagePort, maxBodySize: number, peerHeader: string): DirectClient {
  const pending = new Map<number, ServerResponse>();
  let nextId = 0;
  port.on('message', (msg: DirectResponseMessage) => {
    const res = pending.get(msg.id);
    if (res === undefined) {
      if ('body' in msg) msg.body.fill(0);
      return;
    }
    pending.delete(msg.id);
    if ('failed' in msg) {
      res.destroy();
      return;
    }
    const close = msg.headers['connection'] === 'close';
    const headers = endToEnd(msg.headers, peerHeader);
    if (close) headers['connection'] = 'close';
    if (res.destroyed) {
      msg.body.fill(0);
      return;
    }
    res.writeHead(msg.status, headers);
    res.end(Buffer.from(msg.body.buffer, msg.body.byteOffset, msg.body.length), () => msg.body.fill(0));
  });
  port.on('close', () => {
    for (const res of pending.values()) res.destroy();
    pending.clear();
  });
  const send = (req: IncomingMessage, res: ServerResponse, peer: string, body: Uint8Array): void => {
    const id = ++nextId;
    const bytes = detachedCopy(body);
    pending.set(id, res);
    res.once('close', () => pending.delete(id));
    const msg: DirectRequestMessage = {
      id,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: endToEnd(req.headers, peerHeader) as Record<string, string | string[]>,
      peer,
      body: bytes,
    };
    port.postMessage(msg, [bytes.buffer as ArrayBuffer]);
  };
  return {
    forward(req, res, peer) {
      if (!declaresBodyWithin(req, maxBodySize)) return false;
      readBody(req, maxBodySize).then(
        (body) => send(req, res, peer, body),
        () => res.destroy(),
      );
      return true;
    },
    forwardRead: send,
    close() {
      for (const res of pending.values()) res.destroy();
      pending.clear();
      port.close();
    },
  };
}
