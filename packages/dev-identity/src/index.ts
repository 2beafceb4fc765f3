/**
 * `@spike-ts/dev-identity`: the development identity issuer (a local CA and one SPIFFE Workload
 * API socket per identity) for development, tests and the demo. Kept out of
 * `@spike-ts/identity` so that servers, the SDK and the CLI never load a CA or a gRPC server.
 */
export { startDevIssuer, DevIssuerRefusedError } from './dev-issuer.ts';
export type { DevIssuer, DevIssuerOptions } from './dev-issuer.ts';
export {
  DevIssuerConfigError,
  defaultIdentities,
  parseIdentityFlag,
  DEFAULT_IDENTITY_PATHS,
  DEFAULT_TRUST_DOMAIN,
} from './config.ts';
export type { DevIdentitySpec, DevIssuerConfig, DevIssuerSettings } from './config.ts';
