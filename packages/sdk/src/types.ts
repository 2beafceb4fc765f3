/**
 * @module types
 * Public value types of the SDK. Field names are camelCase TypeScript names; the client maps them
 * to SPIKE's wire names (`spiffeidPattern` in requests, `spiffiedPattern` in answers).
 */
import type {
  ApprovalRule,
  NexusStatusResponse,
  AuditKeyResponse,
  Permission,
  SecretMetaDataContent,
  SecretVersionInfo,
} from '@spike-ts/protocol';
import type { X509Source } from '@spike-ts/identity/client';

export type { Permission, SecretMetaDataContent, SecretVersionInfo };

export interface SpikeClientOptions {
  /** The SVID source. When absent, one is obtained from the SPIFFE Workload API (and closed by `close()`). */
  source?: X509Source;
  /**
   * Nexus base URL, or several (an array or a comma-separated string: replicas on one database;
   * the client fails over between them, ADR 0033). Default: `SPIKE_NEXUS_API_URL`, else
   * `https://localhost:8553`.
   */
  nexusUrl?: string | readonly string[];
  /** Environment to read `SPIKE_*` / `SPIFFE_ENDPOINT_SOCKET` from. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Per-request timeout in milliseconds. Default: `SPIKE_HTTP_CLIENT_TIMEOUT`, else 60 s. With
   * several Nexus URLs it applies to each attempt; one request takes at most twice this long.
   */
  timeoutMs?: number;
}

/** A policy as given to `putPolicy`. */
export interface PolicyInput {
  name: string;
  /** RE2 regular expression matched (unanchored) against the caller's SPIFFE ID. */
  spiffeIdPattern: string;
  /** RE2 regular expression matched (unanchored) against the secret path. */
  pathPattern: string;
  permissions: readonly Permission[];
  /**
   * SPIKE-TS Nexus only (ADR 0036): people (`user:<name>`, matched exactly) the policy grants to
   * on the people listener. Omitted or empty: sent as before, SPIKE sees the same bytes.
   */
  people?: readonly string[];
  /** SPIKE-TS Nexus only: groups (the issuer's groups claim, exact) the policy grants to. */
  groups?: readonly string[];
  /** SPIKE-TS Nexus only: the path is for workloads only; people never read its values. */
  workloadsOnly?: boolean;
  /**
   * SPIKE-TS Nexus only (ADR 0042): operations on the matched paths need M approvals first, for
   * every caller. Checked with `parseApprovalRule`, Nexus's own rule, before sending.
   */
  approval?: ApprovalRule;
}

/** A stored policy as returned by `getPolicy`. */
export interface Policy {
  /** Always empty with SPIKE 0.8.2 servers: the name is the key. */
  id: string;
  name: string;
  spiffeIdPattern: string;
  pathPattern: string;
  permissions: Permission[];
  /** Present only when the policy names people (SPIKE-TS Nexus). */
  people?: string[];
  /** Present only when the policy names groups (SPIKE-TS Nexus). */
  groups?: string[];
  /** Present (true) only when the path is for workloads only (SPIKE-TS Nexus). */
  workloadsOnly?: boolean;
  /** Present only when the policy has an approval rule (SPIKE-TS Nexus, ADR 0042). */
  approval?: ApprovalRule;
  /** RFC 3339 */
  createdAt: string;
  /** RFC 3339 */
  updatedAt: string;
}

/** One entry of `listPolicies`. */
export interface PolicySummary {
  id: string;
  name: string;
}

/** `listPoliciesReport`: the policies and the damaged policy rows left out (they grant nothing). */
export interface PolicyListReport {
  policies: PolicySummary[];
  damagedRows: number;
  /** Names of the damaged policies Nexus could tell (possibly fewer than `damagedRows`). */
  damagedNames: string[];
}

/** `listSecretsReport`: the readable secret paths and the damaged secret rows left out. */
export interface SecretListReport {
  keys: string[];
  damagedRows: number;
  /** Paths of the damaged secrets Nexus could tell (possibly fewer than `damagedRows`). */
  damagedNames: string[];
}

/** One damaged store row as SPIKE-TS Nexus reports it (`listDamagedRows`). */
export interface DamagedRowInfo {
  table: 'policies' | 'secrets' | 'secret_versions';
  /** The row's lookup id (64 hex digits; a version row: its secret's): what `removeDamagedRow` takes. */
  id: string;
  /** `secret_versions` only: the row's version, which `removeDamagedRow` also takes. */
  version?: number;
  /**
   * `unreadable`, `versions-without-secret`, or for version rows `unreadable`, `stale`,
   * `missing` (see the operations guide).
   */
  kind: string;
  /** The policy name or secret path of the row's place, when Nexus can tell it. */
  name?: string;
}

/** Exact-match filter of `listPolicies` (SPIKE semantics: `spiffeIdPattern` wins if both). */
export interface PolicyFilter {
  spiffeIdPattern?: string;
  pathPattern?: string;
}

/** Version metadata of one secret. */
export interface SecretMetadataInfo {
  /** Keyed by the decimal version number. */
  versions: Record<string, SecretVersionInfo>;
  metadata: SecretMetaDataContent;
}

/** The result of a JSON-mode `encrypt`; pass it to `decrypt` as is. */
export interface EncryptedData {
  version: number;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

/** One recovery share as exported by `recover()`. */
export interface RecoveredShard {
  /** Share index, 1..n. */
  id: number;
  /** 32 bytes. Zero it (`shard.fill(0)`) when done. */
  shard: Uint8Array;
}

/** What `status()` reports (our additive `POST /v1/operator/status`; not in SPIKE). */
export type NexusStatus = Omit<NexusStatusResponse, 'err'>;

/** What `auditKey()` reports (our additive `POST /v1/operator/audit-key`; not in SPIKE). */
export type AuditKey = Omit<AuditKeyResponse, 'err'>;

export interface RestoreStatus {
  collected: number;
  remaining: number;
  restored: boolean;
}

/** What `whoami()` reports (`POST /v1/auth/whoami`; SPIKE-TS only). */
export interface WhoAmI {
  /** A workload's SPIFFE ID, or `user:<name>` for a person. */
  principal: string;
  kind: 'workload' | 'person';
  /** A person's groups (empty for workloads). */
  groups: string[];
  /** `admin`, `auditor` or `user` for people; the SPIKE role name (e.g. `superuser`) for workloads. */
  role: string;
  /** The door the request came in: `mtls`, `people-api` or `console`. */
  door: string;
  nexusVersion: string;
}
