/**
 * A lean keep-alive HTTP/1.1 client connection over mutual TLS for the load generator.
 *
 * It presents the worker's X.509-SVID and accepts the server only if its SVID verifies against
 * the trust bundle and is a SPIKE Nexus ID (the same checks the SDK's client runs). One request
 * at a time per connection, like a keep-alive pool slot. It is deliberately small so that the
 * load generator spends as little CPU as possible on a machine it shares with the server: no
 * agent, no header objects, just one write per request and a tiny response parser that relies on
 * `Content-Length` (every Nexus response carries it).
 */
import tls from 'node:tls';
import { isNexus, verifyTlsPeer, DEFAULT_TRUST_ROOTS, type X509Source } from '@spike-ts/identity';
import { bundlesToCaPem } from '@spike-ts/identity';

export interface HttpResult {
  readonly status: number;
  readonly body: Buffer;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly source: X509Source;
}

const HEADER_END = Buffer.from('\r\n\r\n');

interface Pending {
  resolve(result: HttpResult): void;
  reject(err: Error): void;
}

export class MtlsConnection {
  readonly #socket: tls.TLSSocket;
  readonly #hostHeader: string;
  #pending: Pending | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #status = 0;
  #bodyLength = -1;
  #headerLength = 0;
  #closeAfter = false;
  #closed = false;

  private constructor(socket: tls.TLSSocket, hostHeader: string) {
    this.#socket = socket;
    this.#hostHeader = hostHeader;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err: Error) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  static open(opts: ConnectOptions): Promise<MtlsConnection> {
    const svid = opts.source.getX509Svid();
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: opts.host,
        port: opts.port,
        key: svid.privateKeyPem,
        cert: svid.certChainPem,
        ca: bundlesToCaPem(opts.source.getX509Bundles()),
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        rejectUnauthorized: true,
        // The SPIFFE checks below replace host name checks (an SVID carries a URI SAN only).
        checkServerIdentity: () => undefined,
      });
      socket.setNoDelay(true);
      const onError = (err: Error): void => reject(err);
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        try {
          verifyTlsPeer(
            socket,
            opts.source.getX509Bundles(),
            (id) => isNexus(id.toString(), DEFAULT_TRUST_ROOTS),
            'server',
          );
        } catch (err) {
          socket.destroy();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        resolve(new MtlsConnection(socket, `${opts.host}:${String(opts.port)}`));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** `POST target` with a JSON body; resolves with the status and the raw response body. */
  post(target: string, body: Buffer): Promise<HttpResult> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    if (this.#pending !== undefined) return Promise.reject(new Error('a request is already in flight'));
    const head = Buffer.from(
      `POST ${target} HTTP/1.1\r\nHost: ${this.#hostHeader}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${String(body.length)}\r\n\r\n`,
      'latin1',
    );
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(Buffer.concat([head, body], head.length + body.length));
    });
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#bodyLength < 0) {
      const end = this.#buffer.indexOf(HEADER_END);
      if (end < 0) return;
      this.#parseHead(this.#buffer.toString('latin1', 0, end));
      this.#headerLength = end + HEADER_END.length;
    }
    const total = this.#headerLength + this.#bodyLength;
    if (this.#buffer.length < total) return;
    const body = this.#buffer.subarray(this.#headerLength, total);
    const status = this.#status;
    this.#buffer = this.#buffer.length > total ? this.#buffer.subarray(total) : Buffer.alloc(0);
    this.#bodyLength = -1;
    const pending = this.#pending;
    this.#pending = undefined;
    if (this.#closeAfter) this.close();
    pending?.resolve({ status, body });
  }

  #parseHead(head: string): void {
    const lines = head.split('\r\n');
    const statusLine = lines[0] ?? '';
    this.#status = Number(statusLine.slice(9, 12));
    this.#bodyLength = 0;
    this.#closeAfter = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).toLowerCase();
      if (name === 'content-length') this.#bodyLength = Number(line.slice(colon + 1).trim());
      else if (
        name === 'connection' &&
        line
          .slice(colon + 1)
          .trim()
          .toLowerCase() === 'close'
      )
        this.#closeAfter = true;
    }
  }

  #fail(err: Error): void {
    this.#closed = true;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(err);
  }
}
