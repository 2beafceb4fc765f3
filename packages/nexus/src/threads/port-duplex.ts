/**
 * A byte stream over a `MessagePort`, used as the connection between an API worker thread's HTTP
 * client and the main thread's internal HTTP server. Each write is one message (a copy of the
 * bytes); `null` ends the direction; closing either port ends both sides. Nothing here is
 * reachable from outside the process.
 */
import { Duplex } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';

export class PortDuplex extends Duplex {
  readonly #port: MessagePort;
  #closed = false;

  constructor(port: MessagePort) {
    super({ allowHalfOpen: true });
    this.#port = port;
    port.on('message', (msg: unknown) => {
      if (msg === null) {
        this.push(null);
        return;
      }
      if (msg instanceof Uint8Array) this.push(Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength));
    });
    port.once('close', () => {
      this.#closed = true;
      this.push(null);
      this.destroy();
    });
  }

  // What node:http's server and client call on a socket; a port has no timers or Nagle.
  setTimeout(_ms: number, callback?: () => void): this {
    if (callback !== undefined) this.once('timeout', callback);
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  override _read(): void {
    // Messages are pushed as they arrive.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.#closed) {
      callback(new Error('bridge closed'));
      return;
    }
    this.#port.postMessage(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    callback();
  }

  /** Several buffered chunks (e.g. a response's header block and body) leave as one message. */
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (err?: Error | null) => void,
  ): void {
    if (this.#closed) {
      callback(new Error('bridge closed'));
      return;
    }
    const joined = Buffer.concat(chunks.map((c) => c.chunk));
    this.#port.postMessage(new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength));
    callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (!this.#closed) this.#port.postMessage(null);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#port.close();
    }
    callback(err);
  }
}
