/**
 * Domain records shared by the versioning rules, the policy engine and the storage backends.
 * Times are epoch milliseconds (UTC).
 */
import type { ApprovalRule, Permission } from '@spike-ts/protocol';

export interface SecretVersion {
  readonly version: number;
  /** Key/value pairs of this version. Secret material: never log. */
  readonly data: Readonly<Record<string, string>>;
  readonly createdTime: number;
  /** null while the version is live. */
  readonly deletedTime: number | null;
}

export interface SecretMetadata {
  /** 0 when every version is deleted. */
  readonly currentVersion: number;
  /** Lowest live version, 0 when none. */
  readonly oldestVersion: number;
  readonly createdTime: number;
  readonly updatedTime: number;
  readonly maxVersions: number;
}

export interface SecretRecord {
  readonly path: string;
  /** Only the versions that are kept (pruned versions are gone). Sorted ascending by version. */
  readonly versions: readonly SecretVersion[];
  readonly metadata: SecretMetadata;
}

export interface PolicyRecord {
  readonly name: string;
  readonly spiffeIdPattern: string;
  readonly pathPattern: string;
  readonly permissions: readonly Permission[];
  readonly createdTime: number;
  readonly updatedTime: number;
  /**
   * People this policy grants to, as principals (`user:<name>`); matched exactly. Absent in
   * policies stored before people existed (= none).
   */
  readonly people?: readonly string[];
  /** Groups (values of the issuer's groups claim) whose members this policy grants to; exact. */
  readonly groups?: readonly string[];
  /**
   * The paths this policy's path pattern matches are for workloads only: no person, admins
   * included, reads a value there. Such a policy names no people or groups.
   */
  readonly workloadsOnly?: boolean;
  /**
   * Multi-party approval (ADR 0042): the operations it names on the paths this policy's path
   * pattern matches need a grant first, for every caller. A policy with a rule may name nobody
   * (empty SPIFFE ID pattern, no people): it then only marks paths.
   */
  readonly approval?: Readonly<ApprovalRule>;
}
