/**
 * @module help
 * `spike-nexus --help` and `--version`.
 */
import pkg from '../package.json' with { type: 'json' };

export const NEXUS_VERSION: string = pkg.version;

export const NEXUS_HELP = `Usage: spike-nexus [--help | --version]
       spike-nexus migrate [--grant-runtime ROLE]   (PostgreSQL schema; see migrate --help)

SPIKE Nexus: the secrets store. Serves the SPIKE API over mTLS, keeps secrets encrypted under a
root key that lives only in memory, and recovers that key from the keepers after a restart.
Configured by environment variables only.

Environment (defaults; all of them in docs/configuration.md):
  SPIKE_NEXUS_TLS_PORT             mTLS API listen address (:8553)
  SPIKE_NEXUS_HEALTH_ADDR          plain-HTTP /healthz and /readyz (:8554), or off
  SPIKE_NEXUS_BACKEND_STORE        sqlite, postgres or memory (sqlite)
  SPIKE_NEXUS_DATA_DIR             parent of data/spike.db (~/.spike)
  SPIKE_NEXUS_POSTGRES_URL         postgresql://USER@HOST:PORT/DATABASE (with postgres)
  SPIKE_NEXUS_POSTGRES_PASSWORD_FILE  file holding that role's password
  SPIKE_NEXUS_KEEPER_PEERS         keeper URLs, comma-separated (required unless memory)
  SPIKE_NEXUS_SHAMIR_SHARES (3), SPIKE_NEXUS_SHAMIR_THRESHOLD (2)
  SPIKE_NEXUS_AUDIT_LOG            stderr, stdout, off or a file (stderr)
  SPIFFE_ENDPOINT_SOCKET           Workload API (unix:///tmp/spire-agent/public/api.sock)
  SPIKE_SPIFFE_SOURCE_TIMEOUT      wait for the first SVID (30s)
  SPIKE_TRUST_ROOT_*               trust domains of each role (spike.ist)
  SPIKE_SYSTEM_LOG_LEVEL           DEBUG, INFO, WARN, ERROR (WARN); JSON lines on stdout

It needs an SVID spiffe://<trust root>/spike/nexus from a SPIRE agent, or for development from
\`npx spike-dev-identity\`. A new deployment is initialized with spike-bootstrap.

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 failure, 2 bad arguments or environment.
`;
