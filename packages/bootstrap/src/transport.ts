/**
 * What bootstrap needs from the network: POST a JSON body to a keeper or to Nexus. The mTLS
 * implementation is in `mtls-transport.ts`; tests substitute fakes.
 */
export interface PostResult {
  readonly status: number;
  readonly body: Buffer;
}

/** Resolves with any HTTP answer; rejects only when no answer arrived (connection, TLS, timeout). */
export type Post = (url: string, body: Uint8Array, timeoutMs: number) => Promise<PostResult>;

export interface BootstrapTransport {
  readonly postKeeper: Post;
  readonly postNexus: Post;
  close(): Promise<void>;
}

/** Join a base URL (which may carry a path prefix) and an API path. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}
