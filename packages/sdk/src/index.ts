/**
 * @module @spike-ts/sdk
 * Typed TypeScript client for SPIKE Nexus. Authenticates with the workload's X.509-SVID over
 * mutual TLS; talks only to a server presenting a Nexus SPIFFE ID.
 */
export { createSpikeClient, resolveNexusUrl } from './create-spike-client.ts';
export { createSpikeClientOver } from './spike-client.ts';
export type { SpikeClient } from './spike-client.ts';
export { createNexusTransport } from './nexus-transport.ts';
export type { HttpClient, NexusTransport } from './nexus-transport.ts';
export {
  SpikeBadRequestError,
  SpikeBodyTooLargeError,
  SpikeRateLimitedError,
  SpikeConnectionError,
  SpikeError,
  SpikeInternalError,
  SpikeNotFoundError,
  SpikeNotReadyError,
  SpikeUnauthorizedError,
  errorFromWire,
  isSpikeError,
} from './spike-error.ts';
export type { SpikeErrorCode, SpikeErrorOptions } from './spike-error.ts';
export { MAX_CIPHER_INPUT_BYTES, MAX_SHARE_ID } from './validate-input.ts';
export type * from './types.ts';
