/**
 * Config files for the SPIRE test deployment (HCL): server with SQLite, join-token attestation and
 * an in-memory CA key; agent with a disk key manager (so it restarts without a new join token) and
 * the unix workload attestor (with `unix:path` selectors); both with the `experimental` fast-sync knobs.
 */

/** SPIKE's trust domain, so SPIKE's role IDs work without any SPIKE_TRUST_ROOT_* setting. */
export const TRUST_DOMAIN = 'spike.ist';

export { freePort } from '../../scripts/free-ports.ts';

export function serverConf(dir: string, port: number): string {
  return `server {
  bind_address = "127.0.0.1"
  bind_port = "${String(port)}"
  socket_path = "${dir}/admin/api.sock"
  trust_domain = "${TRUST_DOMAIN}"
  data_dir = "${dir}/server"
  log_level = "INFO"
  experimental {
    cache_reload_interval = "1s"
  }
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "${dir}/server/datastore.sqlite3"
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
}
`;
}

export function agentConf(dir: string, port: number): string {
  return `agent {
  data_dir = "${dir}/agent"
  log_level = "INFO"
  server_address = "127.0.0.1"
  server_port = "${String(port)}"
  socket_path = "${dir}/agent.sock"
  trust_bundle_path = "${dir}/bundle.pem"
  trust_domain = "${TRUST_DOMAIN}"
  experimental {
    sync_interval = "1s"
  }
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "disk" {
    plugin_data {
      directory = "${dir}/agent"
    }
  }
  WorkloadAttestor "unix" {
    plugin_data {
      # unix:path selectors tell our roles apart; no unix:sha256 (every role's link is the same
      # Node.js binary, and hashing it on every attestation would cost ~120 MB of reads).
      discover_workload_path = true
      workload_size_limit = -1
    }
  }
}
`;
}
