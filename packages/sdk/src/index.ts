/**
 * @module @spike-ts/sdk
 * Typed TypeScript client for SPIKE Nexus. Authenticates with the workload's X.509-SVID over
 * mutual TLS; talks only to a server presenting a Nexus SPIFFE ID.
 */
export { createSpikeClient, resolveNexusUrl, resolveNexusUrls } from './create-spike-client.ts';
export { createSpikeClientOver } from './spike-client.ts';
export { createBearerHttpClient, createPeopleClient, resolvePeopleUrl } from './people-client.ts';
export type { PeopleClientOptions } from './people-client.ts';
export type { SpikeClient } from './spike-client.ts';
export { createNexusTransport } from './nexus-transport.ts';
export type { HttpClient, NexusTransport, NexusTransportOptions } from './nexus-transport.ts';
export { FAILED_URL_COOLDOWN_MS } from './nexus-failover.ts';
export {
  SpikeApprovalRequiredError,
  SpikeBadRequestError,
  SpikeBodyTooLargeError,
  SpikeRateLimitedError,
  SpikeOutcomeUnknownError,
  SpikeConnectionError,
  SpikeError,
  SpikeInternalError,
  SpikeNotFoundError,
  SpikeNotReadyError,
  SpikeUnauthorizedError,
  errorFromWire,
  isSpikeError,
} from './spike-error.ts';
export type { NexusAttempt, SpikeErrorCode, SpikeErrorOptions } from './spike-error.ts';
export { MAX_CIPHER_INPUT_BYTES, MAX_SHARE_ID } from './validate-input.ts';
export type * from './types.ts';
export type { KeyInfo, KeyMethods, KeySummary, KeyVersionInfo } from './key-client.ts';
export type {
  ApprovalListFilter,
  ApprovalMethods,
  ApprovalRequestInfo,
  ApprovalVoteInfo,
} from './approval-client.ts';
export type { RootKeyMethods, RootKeyStatus } from './root-key-client.ts';
