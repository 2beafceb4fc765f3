/**
 * Every metric Nexus exports, in one place: name, type, labels and meaning. The metrics code
 * builds its families from these entries, `docs/operations.md` lists each of them (a test checks
 * that), and no label takes a value from a request: labels are route specs, fixed role and
 * operation names, HTTP status codes and keeper positions.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  readonly help: string;
  /** Histograms: upper bounds of the buckets. */
  readonly buckets?: readonly number[];
}

function def(d: MetricDef): MetricDef {
  return Object.freeze(d);
}

/** Seconds: reads take well under a millisecond, writes wait for a commit, recovery for keepers. */
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** Mutations per COMMIT (the group commit takes at most 256). */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export const REQUESTS = def({
  name: 'spike_nexus_requests_total',
  type: 'counter',
  labels: ['route', 'action', 'status', 'role'],
  help: 'API requests answered, by route (the route table path; unknown for anything else), action, HTTP status and SPIKE role of the caller',
});

export const REQUEST_DURATION = def({
  name: 'spike_nexus_request_duration_seconds',
  type: 'histogram',
  labels: ['route', 'action'],
  help: 'Time from the request handler starting on a request to its response being written',
  buckets: LATENCY_BUCKETS,
});

export const AUTHORIZATION = def({
  name: 'spike_nexus_authorization_decisions_total',
  type: 'counter',
  labels: ['route', 'action', 'decision', 'role'],
  help: 'Authorization decisions (allowed or denied), by route, action and SPIKE role of the caller',
});

export const STORE_DURATION = def({
  name: 'spike_nexus_store_operation_duration_seconds',
  type: 'histogram',
  labels: ['operation'],
  help: 'Time a storage operation took, including the wait for its group commit',
  buckets: LATENCY_BUCKETS,
});

export const COMMIT_BATCH = def({
  name: 'spike_nexus_store_commit_batch_size',
  type: 'histogram',
  labels: [],
  help: 'Mutations committed together in one write transaction (group commit)',
  buckets: BATCH_BUCKETS,
});

export const READ_CACHE = def({
  name: 'spike_nexus_store_read_cache_total',
  type: 'counter',
  labels: ['result'],
  help: 'Secret reads answered from the read cache (hit) or needing the database (miss)',
});

export const READY = def({
  name: 'spike_nexus_ready',
  type: 'gauge',
  labels: [],
  help: '1 when Nexus serves requests (the root key is installed, or the memory backend), else 0',
});

export const ROOT_KEY = def({
  name: 'spike_nexus_root_key_installed',
  type: 'gauge',
  labels: [],
  help: '1 when the root key is installed (persistent backends), else 0',
});

export const DAMAGED_ROWS = def({
  name: 'spike_nexus_damaged_rows',
  type: 'gauge',
  labels: ['table'],
  help: 'Damaged store rows found by the last check (policies, secrets; secret_versions from the last full listing)',
});

export const KEEPER_STATE = def({
  name: 'spike_nexus_keeper_state',
  type: 'gauge',
  labels: ['keeper', 'state'],
  help: 'What the last shard push or heartbeat saw of each keeper (keeper = its position in SPIKE_NEXUS_KEEPER_PEERS): 1 for the current state (ok, reseeded, unreachable, unknown), 0 for the others',
});

export const API_THREADS = def({
  name: 'spike_nexus_api_threads',
  type: 'gauge',
  labels: [],
  help: 'Threads serving the API now (the main thread and the running API threads)',
});

export const API_THREAD_RESTARTS = def({
  name: 'spike_nexus_api_thread_restarts_total',
  type: 'counter',
  labels: [],
  help: 'API threads that exited unexpectedly and were scheduled for a restart',
});

export const STALE_THREADS = def({
  name: 'spike_nexus_metrics_stale_threads',
  type: 'gauge',
  labels: [],
  help: 'API threads whose numbers in this scrape are from an earlier scrape (they did not answer in time)',
});

export const AUDIT_SYSLOG_CONNECTED = def({
  name: 'spike_nexus_audit_syslog_connected',
  type: 'gauge',
  labels: [],
  help: 'Audit shipping (only with SPIKE_NEXUS_AUDIT_SYSLOG): 1 while the connection to the syslog aggregator is up, else 0',
});

export const AUDIT_SYSLOG_QUEUED = def({
  name: 'spike_nexus_audit_syslog_queued_records',
  type: 'gauge',
  labels: [],
  help: 'Audit records waiting for the syslog aggregator (at most SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE)',
});

export const AUDIT_SYSLOG_DROPPED = def({
  name: 'spike_nexus_audit_syslog_dropped_records_total',
  type: 'counter',
  labels: [],
  help: 'Audit records not shipped to the syslog aggregator because its queue was full',
});

export const AUDIT_SYSLOG_SENT = def({
  name: 'spike_nexus_audit_syslog_sent_records_total',
  type: 'counter',
  labels: [],
  help: 'Audit records handed to the connection to the syslog aggregator',
});

export const AUDIT_SYSLOG_CONNECT_FAILURES = def({
  name: 'spike_nexus_audit_syslog_connect_failures_total',
  type: 'counter',
  labels: [],
  help: 'Connections to the syslog aggregator that failed or could not be made',
});

/** Every metric above, in the order of the docs. */
export const ROOT_KEY_GENERATION = def({
  name: 'spike_nexus_root_key_generation',
  type: 'gauge',
  labels: [],
  help: 'The root-key generation new rows are sealed under (1 = the bootstrap key; each rotation adds one; 0 without a root key)',
});

export const ROTATION_IN_PROGRESS = def({
  name: 'spike_nexus_root_key_rotation_in_progress',
  type: 'gauge',
  labels: [],
  help: '1 while a root-key rotation is unfinished (rows may still be sealed under the previous generation)',
});

export const ROTATION_ROWS_REMAINING = def({
  name: 'spike_nexus_root_key_rotation_rows_remaining',
  type: 'gauge',
  labels: [],
  help: 'Rows still sealed under the previous root-key generation, as this Nexus last counted or re-sealed them (0 when no rotation is unfinished)',
});

export const ROTATION_ROWS_RESEALED = def({
  name: 'spike_nexus_root_key_rotation_rows_resealed_total',
  type: 'counter',
  labels: [],
  help: 'Rows this Nexus process visited to re-seal them under a new root-key generation',
});

export const NEXUS_METRICS: readonly MetricDef[] = Object.freeze([
  REQUESTS,
  REQUEST_DURATION,
  AUTHORIZATION,
  STORE_DURATION,
  COMMIT_BATCH,
  READ_CACHE,
  READY,
  ROOT_KEY,
  ROOT_KEY_GENERATION,
  ROTATION_IN_PROGRESS,
  ROTATION_ROWS_REMAINING,
  ROTATION_ROWS_RESEALED,
  DAMAGED_ROWS,
  KEEPER_STATE,
  API_THREADS,
  API_THREAD_RESTARTS,
  STALE_THREADS,
  AUDIT_SYSLOG_CONNECTED,
  AUDIT_SYSLOG_QUEUED,
  AUDIT_SYSLOG_DROPPED,
  AUDIT_SYSLOG_SENT,
  AUDIT_SYSLOG_CONNECT_FAILURES,
]);
