/**
 * `@spike-ts/http`: HTTP plumbing shared by the servers and the bootstrap — the size-limited body
 * reader, the mTLS JSON `POST` to servers of one role, and URL joining. Below the servers, above
 * identity and protocol.
 */
export { BodyReadError, BodyTooLargeError, readBody } from './read-body.ts';
export {
  createMtlsPost,
  type MtlsPost,
  type MtlsPostOptions,
  type Post,
  type PostResult,
} from './mtls-post.ts';
