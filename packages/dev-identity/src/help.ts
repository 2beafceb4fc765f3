/** `spike-dev-identity --help` text. */
import { DEFAULT_IDENTITY_PATHS, DEFAULT_STATE_DIR, DEFAULT_TRUST_DOMAIN } from './config.ts';

export function helpText(): string {
  const defaults = DEFAULT_IDENTITY_PATHS.map(
    ([name, p]) => `    ${name.padEnd(14)} spiffe://<trust-domain>${p}  (${name}.sock)`,
  ).join('\n');
  return `spike-dev-identity — DEVELOPMENT-ONLY SPIFFE identity issuer

Runs a local CA and serves the SPIFFE Workload API (the same gRPC protocol as the SPIRE
agent) on one unix socket per identity. A process gets an identity by pointing
SPIFFE_ENDPOINT_SOCKET at that identity's socket; the socket's file permissions are the only
"attestation". Never use it in production: it refuses to start when NODE_ENV=production.

Usage: spike-dev-identity [options]

Options:
  --trust-domain <td>          Trust domain (default ${DEFAULT_TRUST_DOMAIN}).
  --state-dir <dir>            Where the CA, the JWT key and bundle.pem live (default
                               ./${DEFAULT_STATE_DIR}; mode 0700, key files 0600). The CA is reused
                               across restarts while valid and replaced when it nears expiry.
  --socket-dir <dir>           Directory for the sockets (default <state-dir>/sockets; mode 0700).
                               Socket paths must fit in 107 bytes; use a short directory such as
                               /tmp/spike-dev if the default is too long.
  --svid-ttl <duration>        X.509-SVID lifetime, Go syntax (default 1h). SVIDs are renewed at
                               half their lifetime and pushed to every open stream.
  --jwt-ttl <duration>         JWT-SVID lifetime (default 5m).
  --identity <name>=<id>       Serve <id> on <socket-dir>/<name>.sock. Repeatable. When any
                               identity is given (here or in --config), the default set is
                               replaced; flags override config entries with the same name.
  --config <file.json>         JSON config; flags win over it. Relative paths in it are
                               resolved against the file's directory. Unknown keys are errors:
                               {
                                 "trustDomain": "spike.ist",
                                 "stateDir": ".dev-identity",
                                 "socketDir": "/tmp/spike-dev",
                                 "svidTtl": "1h",
                                 "jwtTtl": "5m",
                                 "identities": [
                                   { "name": "nexus", "spiffeId": "spiffe://spike.ist/spike/nexus",
                                     "socket": "nexus.sock", "uid": 1001, "gid": 1001 }
                                 ]
                               }
                               "socket" is relative to the socket dir unless absolute. When the
                               issuer runs as root and uid/gid are given, the socket is chowned
                               to them (directories then get mode 0711 so they can reach it).
  -h, --help                   Show this help.

Default identities (trust domain ${DEFAULT_TRUST_DOMAIN} unless --trust-domain):
${defaults}

Example:
  spike-dev-identity --socket-dir /tmp/spike-dev &
  export SPIFFE_ENDPOINT_SOCKET=unix:///tmp/spike-dev/nexus.sock

Stop with Ctrl-C (SIGINT) or SIGTERM: streams are closed and the sockets removed.
`;
}
