/** Flags of `spike-bootstrap`. SPIKE's mandatory `-init` is accepted (and optional here). */
import { BootstrapConfigError } from './errors.ts';

export interface BootstrapArgs {
  readonly help: boolean;
  readonly version: boolean;
  readonly force: boolean;
}

export const HELP_TEXT = `Usage: spike-bootstrap [-init] [--force] [--help | --version]

One-shot SPIKE root-key ceremony: generates a root key, splits it into Shamir shares,
hands keeper i (its position in SPIKE_NEXUS_KEEPER_PEERS) share i, and waits until SPIKE
Nexus proves it holds the key. Runs with a spiffe://<trust root>/spike/bootstrap SVID.

Before touching any keeper it checks for a live system and refuses when SPIKE Nexus already
holds a root key or a keeper already holds a share.

Options:
  -init, --init  accepted for compatibility with SPIKE's bootstrap (no effect)
  --force        skip the live-system check and replace the root key
                 (same as SPIKE_BOOTSTRAP_FORCE=true); data under the old key becomes unreadable
  -h, --help     show this help
  -v, --version  print the version

Environment (defaults):
  SPIKE_NEXUS_KEEPER_PEERS                        keeper URLs, comma-separated (required)
  SPIKE_NEXUS_SHAMIR_SHARES (3), SPIKE_NEXUS_SHAMIR_THRESHOLD (2)
  SPIKE_NEXUS_API_URL (https://localhost:8553)
  SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES (5)
  SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL (2s), ..._RETRY_MAX_INTERVAL (30s)
  SPIKE_BOOTSTRAP_KEEPER_TIMEOUT (30s), SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT (30m)
  SPIKE_BOOTSTRAP_TIMEOUT (0 = none), SPIKE_BOOTSTRAP_FORCE (false)
  SPIFFE_ENDPOINT_SOCKET, SPIKE_SPIFFE_SOURCE_TIMEOUT (30s), SPIKE_TRUST_ROOT_* (spike.ist)

Exit codes:
  0 bootstrapped (or nothing to do)   1 failure              2 bad flags or environment
  3 refused: live system detected     4 a keeper unreachable 5 Nexus verification failed
`;

export function parseBootstrapArgs(argv: readonly string[]): BootstrapArgs {
  let help = false;
  let version = false;
  let force = false;
  for (const arg of argv) {
    if (arg === '-h' || arg === '--help' || arg === '-help') help = true;
    else if (arg === '-v' || arg === '--version' || arg === '-version') version = true;
    else if (arg === '--force' || arg === '-force') force = true;
    else if (arg === '-init' || arg === '--init') continue;
    else throw new BootstrapConfigError(`unknown argument ${JSON.stringify(arg)} (see --help)`);
  }
  return { help, version, force };
}
