/**
 * @module help
 * `spike-keeper --help` and `--version`.
 */
import pkg from '../package.json' with { type: 'json' };

export const KEEPER_VERSION: string = pkg.version;

export const KEEPER_HELP = `Usage: spike-keeper [--help | --version]

SPIKE Keeper: holds one Shamir share of the SPIKE root key in memory (never on disk) and
hands it back to SPIKE Nexus over mTLS. Configured by environment variables only.

Environment (defaults):
  SPIKE_KEEPER_TLS_PORT                   mTLS listen address (:8443)
  SPIFFE_ENDPOINT_SOCKET                  Workload API (unix:///tmp/spire-agent/public/api.sock)
  SPIKE_SPIFFE_SOURCE_TIMEOUT             wait for the first SVID (30s)
  SPIKE_TRUST_ROOT_KEEPER, _NEXUS, _BOOTSTRAP   trust domains of the peers (spike.ist)
  SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT   (10s)
  SPIKE_SYSTEM_LOG_LEVEL                  DEBUG, INFO, WARN, ERROR (WARN); JSON lines on stdout

It needs an SVID spiffe://<trust root>/spike/keeper from a SPIRE agent, or for development from
\`npx spike-dev-identity\`. Details: docs/configuration.md.

Exit codes: 0 stopped by SIGINT/SIGTERM (share zeroed), 1 failure, 2 bad arguments or environment.
`;
