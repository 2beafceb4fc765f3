/**
 * Misbehaving clients on real sockets: connect and send nothing, stop half-way through a TLS
 * handshake, a request's headers or its body. Each probe reports when the server closed the
 * connection, or fails if it is still open after a generous limit (never a tight timing check:
 * the point is "closed at all, and not tens of seconds late").
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface TlsClientOptions {
  readonly caPem: string;
  readonly keyPem?: string;
  readonly certPem?: string;
}

/** A plain TCP connection, once connected. */
export function openRaw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A TLS connection, once the handshake is done (and the server accepted the certificate). */
export function openTls(port: number, options: TlsClientOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      ca: options.caPem,
      ...(options.keyPem === undefined ? {} : { key: options.keyPem, cert: options.certPem }),
      checkServerIdentity: () => undefined,
    });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Resolves with the milliseconds from `since` until `socket` closed; rejects if it is still open
 * `limitMs` after `since` (and then destroys it).
 */
export function closedWithin(socket: Socket, since: number, limitMs: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed && socket.readyState === 'closed') {
      resolve(Date.now() - since);
      return;
    }
    const timer = setTimeout(
      () => {
        socket.destroy();
        reject(new Error(`${what}: the server kept the connection open for more than ${String(limitMs)} ms`));
      },
      Math.max(0, since + limitMs - Date.now()),
    );
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - since);
    });
    socket.resume();
  });
}

/** Writes `chunks` one by one, `gapMs` apart, while the socket is open. Returns a stop function. */
export function drip(socket: Socket, chunks: readonly string[], gapMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= chunks.length) {
      clearInterval(timer);
      return;
    }
    socket.write(chunks[i++] ?? '');
  }, gapMs);
  socket.once('close', () => clearInterval(timer));
  return () => clearInterval(timer);
}

/** Reads what the server sends until `marker` appears (or the connection closes). */
export function readUntil(socket: Socket, marker: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (text.includes(marker)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => resolve(text));
  });
}

/** Opens up to `count` connections with `open` (at most `parallel` at once); failures are counted. */
export async function openMany<T>(
  count: number,
  open: () => Promise<T>,
  parallel = 32,
): Promise<{ opened: T[]; failed: number }> {
  const opened: T[] = [];
  let failed = 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      try {
        opened.push(await open());
      } catch {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return { opened, failed };
}
