/**
 * Request and response bodies of SPIKE 0.8.2, field for field. Field names are the wire names.
 * Fixed 32-byte shards are JSON arrays of 32 integers 0..255; `[]byte` fields are standard base64.
 */

/** SPIKE's five, then ours for named keys (`sign`, `verify`, `decrypt`; see keys.ts). */
export type Permission = 'read' | 'write' | 'list' | 'execute' | 'super' | 'sign' | 'verify' | 'decrypt';
export const PERMISSIONS: readonly Permission[] = Object.freeze([
  'read',
  'write',
  'list',
  'execute',
  'super',
  'sign',
  'verify',
  'decrypt',
]);

/** Every error response carries the code in `err` (keeper shard response: `Err`). */
export interface ErrorField {
  err?: string;
}

// --- secrets -----------------------------------------------------------------------------

export interface SecretPutRequest {
  path: string;
  values: Record<string, string>;
}
export type SecretPutResponse = ErrorField;

export interface SecretGetRequest {
  path: string;
  /** 0 or absent = current version. */
  version?: number;
}
export interface SecretGetResponse extends ErrorField {
  data: Record<string, string> | null;
}

export interface SecretDeleteRequest {
  path: string;
  /** Empty or absent = current; 0 = current. */
  versions?: number[];
}
export type SecretDeleteResponse = ErrorField;

export type SecretUndeleteRequest = SecretDeleteRequest;
export type SecretUndeleteResponse = ErrorField;

export type SecretListRequest = Record<string, never>;
export interface SecretListResponse extends ErrorField {
  keys: string[] | null;
  /** Our addition, present only when above 0: secret rows that are damaged and not listed. */
  damagedRows?: number;
  /** Our addition: the paths of those rows that could be told, when there are any. */
  damagedNames?: string[];
}

export interface SecretMetadataRequest {
  path: string;
  version?: number;
}
export interface SecretVersionInfo {
  /** RFC 3339 */
  createdTime: string;
  version: number;
  /** RFC 3339 or null when live. */
  deletedTime: string | null;
}
export interface SecretMetaDataContent {
  currentVersion: number;
  oldestVersion: number;
  createdTime: string;
  updatedTime: string;
  maxVersions: number;
}
export interface SecretMetadataResponse extends ErrorField {
  /** Keyed by the decimal version number; left out of error bodies (Go's `omitempty`). */
  versions?: Record<string, SecretVersionInfo> | null;
  /** Every field zeroed in error bodies. */
  metadata: SecretMetaDataContent | null;
}

// --- policies ----------------------------------------------------------------------------

/**
 * Ours (ADR 0042): a policy's multi-party approval rule. A path marker like `workloadsOnly`: the
 * operations it names on the paths the policy's path pattern matches need a grant, for every
 * caller. Validated by `parseApprovalRule` (approval-rule.ts).
 */
export interface ApprovalRule {
  /** How many distinct approvers must approve (M), 1..9. */
  required: number;
  /** Groups whose members may approve (exact names). */
  approverGroups?: string[];
  /** People who may approve (`user:<name>`). */
  approverPeople?: string[];
  /** Which operations need approval (`read`, `write`, `sign`, `decrypt`); default: the policy's. */
  permissions?: Permission[];
  /** How long a grant stays usable once approved; default 900, at most 86400. */
  grantTtlSeconds?: number;
  /** How long a request waits for approvals; default 86400, at most 604800. */
  requestTtlSeconds?: number;
}

export interface PolicyPutRequest {
  name: string;
  /** May be empty when the policy names people or groups (it then names no workload). */
  spiffeidPattern: string;
  pathPattern: string;
  permissions: Permission[];
  /** Ours (ADR 0036): people, as principals `user:<name>`; SPIKE's clients never send it. */
  people?: string[];
  /** Ours: groups (values of the issuer's groups claim). */
  groups?: string[];
  /** Ours: the matched paths are for workloads only; no person reads a value there. */
  workloadsOnly?: boolean;
  /** Ours (ADR 0042): operations on the matched paths need M approvals first. */
  approval?: ApprovalRule;
}
export interface PolicyPutResponse extends ErrorField {
  /** SPIKE never fills it; omitted on the wire. */
  id?: string;
}

/** Read and delete take the policy **name** in `id`. */
export interface PolicyReadRequest {
  id: string;
}
/**
 * Note the SPIKE typo `spiffiedPattern`: SPIKE's clients read that field. We also send the
 * correctly spelled `spiffeidPattern` (additive).
 */
export interface PolicyReadResponse extends ErrorField {
  id: string;
  name: string;
  spiffiedPattern: string;
  spiffeidPattern: string;
  pathPattern: string;
  permissions: Permission[] | null;
  createdAt: string;
  updatedAt: string;
  /** Ours, only when the policy names people. */
  people?: string[];
  /** Ours, only when the policy names groups. */
  groups?: string[];
  /** Ours, only when true. */
  workloadsOnly?: boolean;
  /** Ours, only when the policy has an approval rule. */
  approval?: ApprovalRule;
}
export type PolicyDeleteRequest = PolicyReadRequest;
export type PolicyDeleteResponse = ErrorField;

export interface PolicyListRequest {
  spiffeidPattern?: string;
  pathPattern?: string;
}
export interface PolicyListItem {
  id: string;
  name: string;
}
export interface PolicyListResponse extends ErrorField {
  policies: PolicyListItem[] | null;
  /** Our addition, present only when above 0: policy rows that are damaged (they grant nothing). */
  damagedRows?: number;
  /** Our addition: the names of those policies that could be told, when there are any. */
  damagedNames?: string[];
}

// --- cipher ------------------------------------------------------------------------------

export const CIPHER_VERSION = 1;
export const CIPHER_NONCE_SIZE = 12;
export const CIPHER_TAG_SIZE = 16;

export interface CipherEncryptRequest {
  /** base64 */
  plaintext: string;
  algorithm?: string;
}
export interface CipherEncryptResponse extends ErrorField {
  version: number;
  /** base64 */
  nonce: string | null;
  /** base64 */
  ciphertext: string | null;
}
export interface CipherDecryptRequest {
  version: number;
  nonce: string;
  ciphertext: string;
  algorithm?: string;
}
export interface CipherDecryptResponse extends ErrorField {
  /** base64 */
  plaintext: string | null;
}

// --- operator / bootstrap ----------------------------------------------------------------

export type RecoverRequest = Record<string, never>;
export interface RecoverResponse extends ErrorField {
  /** Keyed by share index "1".."n"; each a 32-integer array. */
  shards: Record<string, number[]> | null;
}

export interface RestoreRequest {
  id: number;
  shard: number[];
}
export interface RestoreResponse extends ErrorField {
  collected: number;
  remaining: number;
  restored: boolean;
}

export interface BootstrapVerifyRequest {
  /** base64 of 12 bytes */
  nonce: string;
  /** base64 */
  ciphertext: string;
}
export interface BootstrapVerifyResponse extends ErrorField {
  /** lowercase hex SHA-256 of the plaintext */
  hash: string;
}

// --- keeper ------------------------------------------------------------------------------

export interface ShardContributeRequest {
  shard: number[];
}
export type ShardContributeResponse = ErrorField;

export type ShardGetRequest = Record<string, never>;
/** The keeper's shard response: note the capital `Err` (no JSON tag in SPIKE). */
export interface ShardGetResponse {
  shard: number[] | null;
  Err: string;
}

/** Our additive keeper probe response (`URL_KEEPER_STATUS`). */
export interface KeeperStatusResponse extends ErrorField {
  hasShard: boolean;
}

// --- operator status (our addition) -----------------------------------------------------

/** `POST /v1/operator/status`: what an operator asks first (no secret, share or key material). */
export interface NexusStatusResponse extends ErrorField {
  version: string;
  ready: boolean;
  /** `memory`, `sqlite` or `postgres`. */
  backend: string;
  /** `installed`, `missing` or `none` (memory backend). */
  rootKey: string;
  shares: number;
  threshold: number;
  /** What the last push or heartbeat saw of each keeper: `ok`, `reseeded`, `unreachable`, `unknown`. */
  keepers: { url: string; state: string }[];
}

/** Our additive `POST /v1/operator/audit-key` (ADR 0040). */
export interface AuditKeyResponse extends ErrorField {
  /** SPKI PEM of the Ed25519 key that signs the audit checkpoints. */
  publicKey: string;
  /** First 16 hex digits of SHA-256 over the key's SPKI DER (the checkpoints' `keyId`). */
  keyId: string;
  /** The last checkpoint line this Nexus wrote (an anchor against a cut tail). */
  checkpoint: string;
}

// --- damaged store rows (our addition) ---------------------------------------------------

/** One damaged row as `POST /v1/operator/damaged?action=list` reports it. */
export interface DamagedRowView {
  /** `policies`, `secrets` or `secret_versions`. */
  table: string;
  /** The row's lookup id, 64 lower-case hex digits (for `secret_versions`: its secret's). */
  id: string;
  /** `secret_versions` only: the row's version number. */
  version?: number;
  /** `unreadable`, `misplaced`, `versions-without-secret`, `stale` or `missing`. */
  kind: string;
  /** The policy name or secret path of the row's place, when Nexus can tell it. */
  name?: string;
}
export interface DamagedRowListResponse extends ErrorField {
  rows: DamagedRowView[] | null;
}
export type DamagedRowRemoveResponse = ErrorField;

export const SHARD_SIZE = 32;
export const ROOT_KEY_SIZE = 32;

// --- people (ours, ADRs 0035 and 0036) ------------------------------------------------------

/** Who a caller is: a workload (SPIFFE ID over mTLS) or a person (OIDC token). */
export type CallerKind = 'workload' | 'person';
/** Where a request came in. */
export type DoorName = 'mtls' | 'people-api' | 'console';

export type WhoamiRequest = Record<string, never>;
export interface WhoamiResponse extends ErrorField {
  /** The SPIFFE ID of a workload, `user:<name>` of a person. */
  principal: string;
  kind: CallerKind;
  /** A person's groups; empty for workloads. */
  groups: string[];
  /** A person: `admin`, `auditor` or `user`; a workload: its SPIKE role (`superuser`, `workload`, ...). */
  role: string;
  door: DoorName;
  nexusVersion: string;
}

export const AUDIT_DECISIONS = ['allowed', 'denied', 'none'] as const;
export type AuditDecisionName = (typeof AUDIT_DECISIONS)[number];

/** Filters of the audit query; empty strings and 0 mean "any". */
export interface AuditListRequest {
  /** Exact caller: a SPIFFE ID or `user:<name>`. */
  principal?: string;
  /** Exact secret path. */
  path?: string;
  decision?: string;
  /** RFC 3339, inclusive. */
  from?: string;
  /** RFC 3339, exclusive. */
  to?: string;
  /** Most records returned (newest first); 0 = 100, at most 1000. */
  limit?: number;
}

/** One audit record as the audit query returns it (names only, never values). */
export interface AuditEntry {
  time: string;
  requestId: string;
  caller: string | null;
  door?: string;
  principal?: string;
  groups?: string[];
  route: string;
  action: string;
  path?: string;
  policy?: string;
  row?: string;
  decision: string;
  status: number;
  err?: string;
  reason?: string;
  durationMs: number;
}

export interface AuditListResponse extends ErrorField {
  /** Newest first. */
  records: AuditEntry[] | null;
  /** True when more records matched than were returned, or the scan stopped at its byte bound. */
  truncated: boolean;
}
