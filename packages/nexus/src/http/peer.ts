/** The caller of a request, as its mTLS session proved it. */
import type { IncomingMessage } from 'node:http';
import { getPeerSpiffeId, isSpikeCompatibleId } from '@spike-ts/identity';

/** The SPIFFE ID of the client certificate of `req`'s TLS session, if it is one SPIKE accepts. */
export function tlsPeerId(req: IncomingMessage): string | undefined {
  const id = getPeerSpiffeId(req)?.toString();
  return id !== undefined && isSpikeCompatibleId(id) ? id : undefined;
}
