/** The caller of a request, as its mTLS session proved it. */
import type { IncomingMessage } from 'node:http';
import { getPeerCallerId } from '@spike-ts/identity';

/**
 * The SPIFFE ID of the client certificate of `req`'s TLS session, if it is one SPIKE accepts.
 * Decided once per connection when the handshake was verified; a request only reads it.
 */
export function tlsPeerId(req: IncomingMessage): string | undefined {
  return getPeerCallerId(req);
}
