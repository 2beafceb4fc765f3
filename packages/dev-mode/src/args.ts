/**
 * The command line of `spike-dev`: a few flags (Nexus's port, where the sockets go, an optional
 * SQLite data directory, extra workload identities), `--help` and `--version`. Everything else,
 * positional arguments included, is a usage error (exit 2), as for the other executables.
 */
import { parseArgs } from 'node:util';
import { DevIssuerConfigError, parseIdentityFlag, type DevIdentitySpec } from '@spike-ts/dev-identity';
import pkg from '../package.json' with { type: 'json' };

export const DEV_MODE_VERSION: string = pkg.version;

/** Nexus's port when none is given: SPIKE's, so `spike` finds it without SPIKE_NEXUS_API_URL. */
export const DEFAULT_NEXUS_PORT = 8553;

export interface DevModeArgs {
  /** Nexus's API port on 127.0.0.1 (0: any free port). */
  readonly port: number;
  /** Directory of the Workload API sockets; default `/tmp/spike-dev-<uid>`. */
  readonly socketDir: string | undefined;
  /** SQLite data directory (with in-process keepers); undefined: the in-memory store. */
  readonly dataDir: string | undefined;
  /** Identities served in addition to SPIKE's roles and the demo workload. */
  readonly identities: readonly DevIdentitySpec[];
}

export type ParsedArgs =
  | { readonly kind: 'run'; readonly args: DevModeArgs }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string };

export function parseDevModeArgs(argv: readonly string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        'socket-dir': { type: 'string' },
        'data-dir': { type: 'string' },
        identity: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }));
  } catch (err) {
    return { kind: 'usage-error', message: (err as Error).message };
  }
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  let port = DEFAULT_NEXUS_PORT;
  if (values.port !== undefined) {
    const text = values.port;
    port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (!(port >= 0 && port <= 65535)) {
      return {
        kind: 'usage-error',
        message: `--port must be a port number 0-65535 (0: any free port), got ${JSON.stringify(text.slice(0, 40))}`,
      };
    }
  }
  for (const [flag, value] of [
    ['--socket-dir', values['socket-dir']],
    ['--data-dir', values['data-dir']],
  ] as const) {
    if (value === '') return { kind: 'usage-error', message: `${flag} needs a directory` };
  }
  let identities: DevIdentitySpec[];
  try {
    identities = (values.identity ?? []).map(parseIdentityFlag);
  } catch (err) {
    if (err instanceof DevIssuerConfigError) return { kind: 'usage-error', message: err.message };
    throw err;
  }
  return {
    kind: 'run',
    args: { port, socketDir: values['socket-dir'], dataDir: values['data-dir'], identities },
  };
}

export const HELP_TEXT = `spike-dev — SPIKE in one process, for DEVELOPMENT ONLY

Starts the dev identity issuer (a SPIFFE Workload API with its own throwaway CA, one unix
socket per identity) and SPIKE Nexus in this one process, built from the same code as
spike-dev-identity and spike-nexus. By default secrets are kept in memory only (SPIKE's memory
backend: no root key, no keepers) and are gone when it stops.

With --data-dir, Nexus keeps them in a SQLite file there and three keepers (2 of 3) run in this
process too: at first start the real bootstrap creates the root key and 'spike operator
recover' saves recovery files into the data directory; at every later start the keepers are
empty (they hold shares in memory only) and 'spike operator restore' feeds Nexus those files.

Refuses to start when NODE_ENV=production. Nexus listens on 127.0.0.1 only.

Usage: spike-dev [options]

Options:
  --port <n>                 Nexus API port on 127.0.0.1 (default ${String(DEFAULT_NEXUS_PORT)}; 0: any free port).
  --socket-dir <dir>         Directory of the Workload API sockets (default /tmp/spike-dev-<uid>;
                             unix socket paths are limited to 107 bytes).
  --data-dir <dir>           Keep secrets in <dir>/nexus (SQLite) across restarts, with three
                             in-process keepers. <dir> also holds the dev CA (identity/) and
                             the recovery files (recovery/recover/: key material, keep it private).
                             One spike-dev per data directory.
  --identity <name>=<id>     Also serve the SPIFFE ID <id> (in trust domain spike.ist) on
                             <socket-dir>/<name>.sock, for a workload. Repeatable.
  -h, --help                 Show this help.
  -v, --version              Show the version.

Identities served (one socket each, in the socket directory):
  pilot          spiffe://spike.ist/spike/pilot/role/superuser   (the spike CLI as superuser)
  pilot-recover  spiffe://spike.ist/spike/pilot/role/recover
  pilot-restore  spiffe://spike.ist/spike/pilot/role/restore
  demo           spiffe://spike.ist/workload/demo                (a workload)
  lite           spiffe://spike.ist/spike/workload/role/lite
  nexus, keeper, bootstrap                                       (used inside this process)

Other SPIKE_* variables (limits, log level, audit sink) are read as spike-nexus reads them;
spike-dev sets the store, the listen addresses, the keeper peers, the trust roots and
SPIFFE_ENDPOINT_SOCKET itself.

Exit codes: 0 stopped by SIGINT/SIGTERM (or help/version), 1 could not start, 2 usage error or
NODE_ENV=production.
`;
