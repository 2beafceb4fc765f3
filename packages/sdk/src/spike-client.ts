/**
 * @module spike-client
 * The typed SPIKE Nexus client. One method per Nexus route; every call goes over mTLS with the
 * caller's X.509-SVID, the server must present a Nexus SPIFFE ID, connections are reused.
 *
 * @example
 * ```ts
 * const spike = await createSpikeClient();
 * await spike.putSecret('tenants/demo/db/creds', { username: 'app' });
 * const creds = await spike.getSecret('tenants/demo/db/creds');
 * await spike.close();
 * ```
 */
import {
  ErrorCode,
  CIPHER_DECRYPT,
  isReplaySafe,
  CIPHER_ENCRYPT,
  DAMAGED_DELETE,
  DAMAGED_LIST,
  OPERATOR_RECOVER,
  OPERATOR_RESTORE,
  OPERATOR_AUDIT_KEY,
  OPERATOR_STATUS,
  AUTH_WHOAMI,
  POLICY_DELETE,
  POLICY_GET,
  POLICY_LIST,
  POLICY_UPSERT,
  SECRET_DELETE,
  SECRET_GET,
  SECRET_LIST,
  SECRET_METADATA,
  SECRET_PUT,
  SECRET_UNDELETE,
  parseApprovalRule,
  type ApprovalRule,
  type PolicyReadResponse,
  type ResponseBody,
  type RouteSpec,
  type SecretMetadataResponse,
} from '@spike-ts/protocol';
import { createApprovalMethods, type ApprovalMethods } from './approval-client.ts';
import { createKeyMethods, type KeyMethods } from './key-client.ts';
import { createRootKeyMethods, type RootKeyMethods } from './root-key-client.ts';
import type { NexusTransport } from './nexus-transport.ts';
import {
  readBase64,
  readBool,
  readInt,
  readObject,
  readString,
  readStringArray,
  readStringMap,
  shardFromJson,
} from './decode-response.ts';
import {
  checkCipherInput,
  checkDamagedRow,
  checkPlaintext,
  checkPolicyInput,
  checkPolicyName,
  checkSecretPath,
  checkSecretValues,
  checkShard,
  checkVersion,
  checkVersions,
} from './validate-input.ts';
import { SpikeError, SpikeNotFoundError } from './spike-error.ts';
import type {
  DamagedRowInfo,
  EncryptedData,
  Permission,
  Policy,
  PolicyFilter,
  PolicyInput,
  PolicySummary,
  PolicyListReport,
  RecoveredShard,
  NexusStatus,
  AuditKey,
  RestoreStatus,
  SecretListReport,
  SecretMetaDataContent,
  SecretMetadataInfo,
  SecretVersionInfo,
  WhoAmI,
} from './types.ts';

export interface SpikeClient {
  /** The Nexus base URL this client talks to (with several: the one in use now). */
  readonly nexusUrl: string;
  /** Every Nexus base URL of this client, in the order given (ADR 0033). */
  readonly nexusUrls: readonly string[];
  /** Store a new version of the secret at `path` (replaces the whole key/value map). */
  putSecret(path: string, values: Readonly<Record<string, string>>): Promise<void>;
  /** Read a secret; `version` 0 or absent = current. */
  getSecret(path: string, version?: number): Promise<Record<string, string>>;
  getSecretMetadata(path: string, version?: number): Promise<SecretMetadataInfo>;
  /** Soft-delete versions; empty or absent = current. */
  deleteSecret(path: string, versions?: readonly number[]): Promise<void>;
  /**
   * Undelete versions; empty or absent = current, or the newest deleted version when every
   * version is deleted.
   */
  undeleteSecret(path: string, versions?: readonly number[]): Promise<void>;
  /** Every secret path (sorted). */
  listSecrets(): Promise<string[]>;
  /**
   * Every readable secret path (sorted) and how many damaged secret rows SPIKE-TS Nexus left out
   * (always 0 from a server that does not report them, such as SPIKE's).
   */
  listSecretsReport(): Promise<SecretListReport>;
  /** Create or replace the policy with this name. */
  putPolicy(policy: PolicyInput): Promise<void>;
  getPolicy(name: string): Promise<Policy>;
  deletePolicy(name: string): Promise<void>;
  listPolicies(filter?: PolicyFilter): Promise<PolicySummary[]>;
  /** `listPolicies` plus how many damaged policy rows (which grant nothing) were left out. */
  listPoliciesReport(filter?: PolicyFilter): Promise<PolicyListReport>;
  /** JSON-mode encryption: keep all three fields, `decrypt` needs them. */
  encrypt(plaintext: Uint8Array): Promise<EncryptedData>;
  decrypt(data: EncryptedData): Promise<Uint8Array>;
  /** Stream-mode encryption: returns `0x01 ‖ nonce(12) ‖ ciphertext+tag`. */
  encryptStream(plaintext: Uint8Array): Promise<Uint8Array>;
  decryptStream(framed: Uint8Array): Promise<Uint8Array>;
  /** Export every recovery share (needs the Pilot recover role). */
  recover(): Promise<RecoveredShard[]>;
  /** Give Nexus one recovery share (needs the Pilot restore role). */
  restore(id: number, shard: Uint8Array): Promise<RestoreStatus>;
  /** SPIKE-TS Nexus only (Pilot superuser): the store's damaged rows. */
  listDamagedRows(): Promise<DamagedRowInfo[]>;
  /**
   * SPIKE-TS Nexus only (Pilot superuser): remove one damaged row, named by `table` and `id` (and
   * for `secret_versions` its `version`) as `listDamagedRows` gives them. A row that is not
   * damaged is never removed (`not_found`).
   */
  removeDamagedRow(table: DamagedRowInfo['table'], id: string, version?: number): Promise<void>;
  /** Nexus's version, readiness, root-key state and keepers (needs the Pilot superuser role; ours, not SPIKE's). */
  status(): Promise<NexusStatus>;
  /** SPIKE-TS Nexus only: named signing and backup keys (their private halves stay in Nexus). */
  readonly keys: KeyMethods;
  /** SPIKE-TS Nexus only: online root-key rotation (ADR 0044). */
  readonly rootKey: RootKeyMethods;
  /**
   * SPIKE-TS Nexus only (ADR 0042): multi-party approval requests. A gated operation without a
   * grant fails with `SpikeApprovalRequiredError`; file a request, and once approved the same
   * operation goes through (once).
   */
  readonly approvals: ApprovalMethods;
  /**
   * Who Nexus takes this caller for (`POST /v1/auth/whoami`, SPIKE-TS only): a workload's SPIFFE
   * ID and SPIKE role, or a person's principal, groups and role, and the door the request came in.
   */
  whoami(): Promise<WhoAmI>;
  /**
   * SPIKE-TS Nexus only (Pilot superuser): the public key that verifies the audit checkpoints
   * (PEM) and the last checkpoint line written (ADR 0040).
   */
  auditKey(): Promise<AuditKey>;
  /** Close connections, and the SVID source if the client created it. */
  close(): Promise<void>;
}

/** Build the client methods over a transport; `onClose` releases what the factory opened. */
export function createSpikeClientOver(transport: NexusTransport, onClose: () => Promise<void>): SpikeClient {
  let closed = false;
  // Every JSON call goes through a route spec: the body must have the spec's request type, and
  // the answer can only be read for fields the spec's response type has.
  const post = <Req, Decoded, Res>(spec: RouteSpec<Req, Decoded, Res>, body: Req): Promise<Answer<Res>> => {
    if (closed) throw new SpikeError('unknown', 0, 'This SPIKE client is closed.');
    // Whether a failed call may go to the next Nexus URL comes from the route table (ADR 0033).
    return transport.postJson(spec.path, spec.action, body, isReplaySafe(spec));
  };

  const listPoliciesReport = async (filter: PolicyFilter = {}): Promise<PolicyListReport> => {
    const body = { spiffeidPattern: filter.spiffeIdPattern ?? '', pathPattern: filter.pathPattern ?? '' };
    const res = await post(POLICY_LIST, body);
    const damagedRows = readCount(res, 'damagedRows');
    const damagedNames = readStringArray(res, 'damagedNames');
    const list = res.policies;
    if (list === null || list === undefined) return { policies: [], damagedRows, damagedNames };
    if (!Array.isArray(list))
      throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed policy list.');
    const policies = list.map((item: unknown) => {
      const o = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
      return { id: readString(o, 'id', ''), name: readString(o, 'name') };
    });
    return { policies, damagedRows, damagedNames };
  };

  const listPolicies = async (filter: PolicyFilter = {}): Promise<PolicySummary[]> =>
    (await listPoliciesReport(filter)).policies;

  /**
   * SPIKE's Nexus answers a get or delete of a missing policy with 500 `api_internal_error`
   * (ours: 404). After a 500, look the name up in the policy list, as SPIKE's own CLI does, and
   * report a missing policy as not found. Any other error, a listed name or a failing list
   * keeps the original error.
   */
  const policyCall = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof SpikeError) || err.code !== ErrorCode.Internal || err.status !== 500) throw err;
      let listed: boolean;
      try {
        // A SPIKE-TS Nexus answers 500 for a damaged policy row and counts damaged rows in the
        // list: then the 500 may be that policy, so it is not turned into "not found".
        const report = await listPoliciesReport();
        listed = report.damagedRows > 0 || report.policies.some((p) => p.name === name);
      } catch {
        throw err;
      }
      if (listed) throw err;
      throw new SpikeNotFoundError(
        'Not found: SPIKE Nexus answered HTTP 500 and its policy list has no policy of this name.',
        err.status,
        { cause: err },
      );
    }
  };

  return {
    get nexusUrl() {
      return transport.baseUrl;
    },
    nexusUrls: transport.baseUrls,
    keys: createKeyMethods(post),
    approvals: createApprovalMethods(post),
    rootKey: createRootKeyMethods(post),

    async putSecret(path, values) {
      const body = { path: checkSecretPath(path), values: checkSecretValues(values) };
      await post(SECRET_PUT, body);
    },

    async getSecret(path, version) {
      const body = { path: checkSecretPath(path), version: checkVersion(version) };
      return readStringMap(await post(SECRET_GET, body), 'data');
    },

    async getSecretMetadata(path, version) {
      const body = { path: checkSecretPath(path), version: checkVersion(version) };
      return readMetadata(await post(SECRET_METADATA, body));
    },

    async deleteSecret(path, versions) {
      await post(SECRET_DELETE, {
        path: checkSecretPath(path),
        versions: checkVersions(versions),
      });
    },

    async undeleteSecret(path, versions) {
      const body = { path: checkSecretPath(path), versions: checkVersions(versions) };
      await post(SECRET_UNDELETE, body);
    },

    async listSecrets() {
      return readStringArray(await post(SECRET_LIST, {}), 'keys');
    },

    async listSecretsReport() {
      const res = await post(SECRET_LIST, {});
      return {
        keys: readStringArray(res, 'keys'),
        damagedRows: readCount(res, 'damagedRows'),
        damagedNames: readStringArray(res, 'damagedNames'),
      };
    },

    async putPolicy(policy) {
      const p = checkPolicyInput(policy);
      const body = {
        name: p.name,
        spiffeidPattern: p.spiffeIdPattern,
        pathPattern: p.pathPattern,
        permissions: [...p.permissions],
        // Ours (ADR 0036): sent only when used, so a policy without them is SPIKE's bytes.
        ...(p.people === undefined || p.people.length === 0 ? {} : { people: [...p.people] }),
        ...(p.groups === undefined || p.groups.length === 0 ? {} : { groups: [...p.groups] }),
        ...(p.workloadsOnly === true ? { workloadsOnly: true } : {}),
        ...(p.approval === undefined ? {} : { approval: p.approval }),
      };
      await post(POLICY_UPSERT, body);
    },

    async getPolicy(name) {
      const id = checkPolicyName(name);
      return policyCall(id, async () => readPolicy(await post(POLICY_GET, { id })));
    },

    async deletePolicy(name) {
      const id = checkPolicyName(name);
      await policyCall(id, () => post(POLICY_DELETE, { id }));
    },

    listPolicies,

    listPoliciesReport,

    async listDamagedRows() {
      const res = await post(DAMAGED_LIST, {});
      const rows = res.rows;
      if (rows === null || rows === undefined) return [];
      if (!Array.isArray(rows))
        throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed row list.');
      return rows.map((item: unknown): DamagedRowInfo => {
        const o = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
        const table = readString(o, 'table');
        if (table !== 'policies' && table !== 'secrets' && table !== 'secret_versions') {
          throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed row list.');
        }
        const name = o['name'];
        const version = o['version'];
        if (table === 'secret_versions' && (typeof version !== 'number' || !Number.isSafeInteger(version))) {
          throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed row list.');
        }
        return {
          table,
          id: readString(o, 'id'),
          ...(table === 'secret_versions' ? { version: version as number } : {}),
          kind: readString(o, 'kind'),
          ...(typeof name === 'string' ? { name } : {}),
        };
      });
    },

    async removeDamagedRow(table, id, version) {
      await post(DAMAGED_DELETE, checkDamagedRow(table, id, version));
    },

    async encrypt(plaintext) {
      const body = { plaintext: Buffer.from(checkPlaintext(plaintext)).toString('base64') };
      const res = await post(CIPHER_ENCRYPT, body);
      return {
        version: readInt(res, 'version'),
        nonce: readBase64(res, 'nonce'),
        ciphertext: readBase64(res, 'ciphertext'),
      };
    },

    async decrypt(data) {
      const d = checkCipherInput(data);
      const body = {
        version: d.version,
        nonce: Buffer.from(d.nonce).toString('base64'),
        ciphertext: Buffer.from(d.ciphertext).toString('base64'),
      };
      return readBase64(await post(CIPHER_DECRYPT, body), 'plaintext');
    },

    async encryptStream(plaintext) {
      if (closed) throw new SpikeError('unknown', 0, 'This SPIKE client is closed.');
      return transport.postBytes(
        CIPHER_ENCRYPT.path,
        checkPlaintext(plaintext),
        isReplaySafe(CIPHER_ENCRYPT),
      );
    },

    async decryptStream(framed) {
      if (closed) throw new SpikeError('unknown', 0, 'This SPIKE client is closed.');
      return transport.postBytes(
        CIPHER_DECRYPT.path,
        checkPlaintext(framed, 'framed'),
        isReplaySafe(CIPHER_DECRYPT),
      );
    },

    async recover() {
      const shards = readObject(await post(OPERATOR_RECOVER, {}), 'shards');
      const out: RecoveredShard[] = [];
      for (const [key, value] of Object.entries(shards)) {
        const id = Number(key);
        if (!/^[1-9][0-9]{0,8}$/.test(key))
          throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed shard index.');
        out.push({ id, shard: shardFromJson(value, 'shards') });
      }
      return out.sort((a, b) => a.id - b.id);
    },

    async restore(id, shard) {
      const { id: shardId, shard: bytes } = checkShard(id, shard);
      const res = await post(OPERATOR_RESTORE, { id: shardId, shard: Array.from(bytes) });
      return {
        collected: readInt(res, 'collected'),
        remaining: readInt(res, 'remaining'),
        restored: readBool(res, 'restored'),
      };
    },

    async status() {
      const res = await post(OPERATOR_STATUS, {});
      const keepers = res.keepers;
      if (!Array.isArray(keepers))
        throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed status.');
      return {
        version: readString(res, 'version'),
        ready: readBool(res, 'ready'),
        backend: readString(res, 'backend'),
        rootKey: readString(res, 'rootKey'),
        shares: readInt(res, 'shares'),
        threshold: readInt(res, 'threshold'),
        keepers: keepers.map((k: unknown) => {
          if (typeof k !== 'object' || k === null) {
            throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed status.');
          }
          const o = k as Record<string, unknown>;
          return { url: readString(o, 'url'), state: readString(o, 'state') };
        }),
      };
    },

    async whoami() {
      const res = await post(AUTH_WHOAMI, {});
      const kind = readString(res, 'kind');
      if (kind !== 'workload' && kind !== 'person') {
        throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed whoami answer.');
      }
      const groups = res.groups;
      return {
        principal: readString(res, 'principal'),
        kind,
        groups: groups === undefined || groups === null ? [] : readStringArray(res, 'groups'),
        role: readString(res, 'role'),
        door: readString(res, 'door', ''),
        nexusVersion: readString(res, 'nexusVersion', ''),
      };
    },

    async auditKey() {
      const res = await post(OPERATOR_AUDIT_KEY, {});
      return {
        publicKey: readString(res, 'publicKey'),
        keyId: readString(res, 'keyId'),
        checkpoint: readString(res, 'checkpoint'),
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      await onClose();
    },
  };
}

/** A Nexus answer: the fields of the response type, each still to be checked before use. */
type Answer<Res> = { readonly [K in keyof ResponseBody<Res>]?: unknown };

/** An optional non-negative count (absent = 0, as from servers that do not send it). */
function readCount<K extends string>(res: { readonly [F in K]?: unknown }, field: NoInfer<K>): number {
  if (res[field] === undefined || res[field] === null) return 0;
  const n = readInt(res, field);
  if (n < 0) throw new SpikeError('unknown', 200, `SPIKE Nexus sent a malformed answer (field '${field}').`);
  return n;
}

function readPolicy(res: Answer<PolicyReadResponse>): Policy {
  const spiffeIdPattern =
    typeof res['spiffeidPattern'] === 'string' && res['spiffeidPattern'] !== ''
      ? res['spiffeidPattern']
      : readString(res, 'spiffiedPattern', '');
  return {
    id: readString(res, 'id', ''),
    name: readString(res, 'name'),
    spiffeIdPattern,
    pathPattern: readString(res, 'pathPattern', ''),
    permissions: readStringArray(res, 'permissions') as Permission[],
    ...(Array.isArray(res.people) ? { people: readStringArray(res, 'people') } : {}),
    ...(Array.isArray(res.groups) ? { groups: readStringArray(res, 'groups') } : {}),
    ...(res.workloadsOnly === true ? { workloadsOnly: true } : {}),
    ...(res.approval === undefined || res.approval === null ? {} : { approval: readApproval(res.approval) }),
    createdAt: readString(res, 'createdAt', ''),
    updatedAt: readString(res, 'updatedAt', ''),
  };
}

/** A stored policy's approval rule, checked with the rule Nexus applies. */
function readApproval(value: unknown): ApprovalRule {
  try {
    return parseApprovalRule(value);
  } catch {
    throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed approval rule.');
  }
}

function readMetadata(res: Answer<SecretMetadataResponse>): SecretMetadataInfo {
  const versionsRaw = res.versions ?? {};
  const metaRaw = readObject(res, 'metadata');
  if (typeof versionsRaw !== 'object' || versionsRaw === null || Array.isArray(versionsRaw)) {
    throw new SpikeError('unknown', 200, 'SPIKE Nexus sent malformed metadata.');
  }
  const versions: Record<string, SecretVersionInfo> = {};
  for (const [key, value] of Object.entries(versionsRaw as Record<string, unknown>)) {
    const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    const deleted = v['deletedTime'];
    versions[key] = {
      createdTime: readString(v, 'createdTime', ''),
      version: readInt(v, 'version'),
      deletedTime: typeof deleted === 'string' ? deleted : null,
    };
  }
  const metadata: SecretMetaDataContent = {
    currentVersion: readInt(metaRaw, 'currentVersion'),
    oldestVersion: readInt(metaRaw, 'oldestVersion'),
    createdTime: readString(metaRaw, 'createdTime', ''),
    updatedTime: readString(metaRaw, 'updatedTime', ''),
    maxVersions: readInt(metaRaw, 'maxVersions'),
  };
  return { versions, metadata };
}
