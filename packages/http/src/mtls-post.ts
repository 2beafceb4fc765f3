/**
 * A JSON `POST` over SPIFFE mTLS to servers of one role: the one way Nexus and the bootstrap call
 * keepers (and the bootstrap calls Nexus). The server must present an SVID `authorizeServer`
 * accepts; any HTTP answer resolves, only a missing answer (connection, TLS, timeout) rejects.
 */
import { createMtlsClient, type SpiffeId, type X509Source } from '@spike-ts/identity';

export interface PostResult {
  readonly status: number;
  readonly body: Buffer;
}

/** Resolves with any HTTP answer; rejects only when no answer arrived. */
export type Post = (url: string, body: Uint8Array, timeoutMs?: number) => Promise<PostResult>;

export interface MtlsPost {
  readonly post: Post;
  /** Destroys all connections; later posts fail. */
  close(): void;
}

export interface MtlsPostOptions {
  /** Whether the server's SPIFFE ID is one we talk to (its role). */
  readonly authorizeServer: (id: SpiffeId) => boolean;
  /** Default for posts that give none; the client's own default otherwise. */
  readonly timeoutMs?: number;
}

export function createMtlsPost(source: X509Source, options: MtlsPostOptions): MtlsPost {
  const client = createMtlsClient(source, {
    authorizeServer: options.authorizeServer,
    keepAlive: true,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return {
    async post(url, body, timeoutMs = options.timeoutMs) {
      const res = await client.request(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      return { status: res.status, body: res.body };
    },
    close: () => client.close(),
  };
}
