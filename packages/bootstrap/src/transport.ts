/**
 * What bootstrap needs from the network: POST a JSON body to a keeper or to Nexus. The mTLS
 * implementation is in `mtls-transport.ts`; tests substitute fakes.
 */
import type { PostResult } from '@spike-ts/http';

export type { PostResult } from '@spike-ts/http';
export { joinUrl } from '@spike-ts/protocol';

/** Resolves with any HTTP answer; rejects only when no answer arrived (connection, TLS, timeout). */
export type Post = (url: string, body: Uint8Array, timeoutMs: number) => Promise<PostResult>;

export interface BootstrapTransport {
  readonly postKeeper: Post;
  readonly postNexus: Post;
  close(): Promise<void>;
}
