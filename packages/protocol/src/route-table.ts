/**
 * The route table: one typed spec per HTTP route of Nexus and the keeper, SPIKE's and our
 * additive ones. A spec says how the route is reached (method, path, `?action=`), who may call it,
 * the request (schema, example, decoder), the success body (schema, tied at compile time to the
 * wire type in wire.ts), the zero-valued error body, and every error code it may answer.
 *
 * Nexus builds its routes from these specs, so a handler cannot return a body of another shape;
 * the SDK posts through them, so a request body of the wrong shape does not compile; the route
 * tests and `docs/api.md` iterate this table. To add a route: add its wire types to wire.ts and
 * its decoder to decode.ts, add a spec here (and to `NEXUS_ROUTE_SPECS` or `KEEPER_ROUTE_SPECS`),
 * then implement it in the server against the spec.
 */
import { ErrorCode } from './error-code.ts';
import {
  decodeKeyCreateRequest,
  decodeKeyDecryptRequest,
  decodeKeyListRequest,
  decodeKeyNameRequest,
  decodeKeyRetireRequest,
  decodeKeySignRequest,
  decodeKeyVerifyRequest,
  KEY_ALGORITHMS,
  MAX_KEY_NAME_LENGTH,
  MAX_KEY_USER_ID_LENGTH,
  URL_KEYS,
  URL_KEYS_DECRYPT,
  URL_KEYS_RETIRE,
  URL_KEYS_ROTATE,
  URL_KEYS_SIGN,
  URL_KEYS_VERIFY,
  type DecodedKeySignRequest,
  type DecodedKeyVerifyRequest,
  type KeyCreateRequest,
  type KeyCreateResponse,
  type KeyDecryptRequest,
  type KeyDecryptResponse,
  type KeyListRequest,
  type KeyListResponse,
  type KeyNameRequest,
  type KeyPublicResponse,
  type KeyRetireRequest,
  type KeyRetireResponse,
  type KeyRotateResponse,
  type KeySignRequest,
  type KeySignResponse,
  type KeyVerifyRequest,
  type KeyVerifyResponse,
} from './keys.ts';
import { StreamErrorCode } from './api-error.ts';
import {
  APPROVAL_LIST_DEFAULT_LIMIT,
  APPROVAL_LIST_MAX_LIMIT,
  APPROVAL_MAX_COMMENT_LENGTH,
  APPROVAL_MAX_ID_LENGTH,
  APPROVAL_MAX_REASON_LENGTH,
  APPROVAL_OPERATIONS,
  APPROVAL_STATUSES,
  decodeApprovalDecideRequest,
  decodeApprovalFileRequest,
  decodeApprovalIdRequest,
  decodeApprovalListRequest,
  URL_APPROVALS,
  type ApprovalDecideRequest,
  type ApprovalFileRequest,
  type ApprovalIdRequest,
  type ApprovalListRequest,
  type ApprovalListResponse,
  type ApprovalResponse,
} from './approvals.ts';
import {
  APPROVAL_DEFAULT_GRANT_TTL_SECONDS,
  APPROVAL_DEFAULT_REQUEST_TTL_SECONDS,
  APPROVAL_MAX_APPROVERS,
  APPROVAL_MAX_GRANT_TTL_SECONDS,
  APPROVAL_MAX_NAME_LENGTH,
  APPROVAL_MAX_REQUEST_TTL_SECONDS,
  APPROVAL_MAX_REQUIRED,
  APPROVAL_PERMISSIONS,
} from './approval-rule.ts';
import {
  decodeRootKeyRequest,
  ROTATION_PHASES,
  URL_OPERATOR_ROOT_KEY_ROTATE,
  URL_OPERATOR_ROOT_KEY_STATUS,
  type RootKeyRequest,
  type RootKeyStatusResponse,
} from './root-key.ts';
import {
  decodeAuditListRequest,
  decodeWhoamiRequest,
  decodeBootstrapVerifyRequest,
  decodeDamagedRowListRequest,
  decodeDamagedRowRemoveRequest,
  decodeCipherDecryptRequest,
  decodeCipherEncryptRequest,
  decodePolicyDeleteRequest,
  decodePolicyListRequest,
  decodePolicyPutRequest,
  decodePolicyReadRequest,
  decodeRestoreRequest,
  decodeSecretDeleteRequest,
  decodeSecretGetRequest,
  decodeSecretListRequest,
  decodeSecretMetadataRequest,
  decodeSecretPutRequest,
  decodeSecretUndeleteRequest,
  decodeShardContributeRequest,
  type DamagedRowRemoveRequest,
  type DecodedBootstrapVerifyRequest,
  type DecodedCipherDecryptRequest,
  type DecodedCipherEncryptRequest,
  type DecodedPolicyPutRequest,
  type DecodedRestoreRequest,
  type DecodedShardContributeRequest,
} from './decode.ts';
import {
  ACTION_APPROVE,
  ACTION_CANCEL,
  ACTION_DEFAULT,
  ACTION_DELETE,
  ACTION_DENY,
  ACTION_GET,
  ACTION_LIST,
  ACTION_REQUEST,
  ACTION_UNDELETE,
  URL_AUDIT,
  URL_AUTH_WHOAMI,
  URL_BOOTSTRAP_VERIFY,
  URL_CIPHER_DECRYPT,
  URL_CIPHER_ENCRYPT,
  URL_KEEPER_CONTRIBUTE,
  URL_KEEPER_SHARD,
  URL_KEEPER_STATUS,
  URL_OPERATOR_DAMAGED,
  URL_OPERATOR_RECOVER,
  URL_OPERATOR_RESTORE,
  URL_OPERATOR_AUDIT_KEY,
  URL_OPERATOR_STATUS,
  URL_POLICY,
  URL_SECRETS,
  URL_SECRETS_METADATA,
  type Action,
} from './routes.ts';
import type { ObjectSchema, SchemaOf } from './schema.ts';
import {
  AUDIT_LIST_DEFAULT_LIMIT,
  AUDIT_LIST_MAX_LIMIT,
  MAX_POLICY_PEOPLE,
  MAX_PRINCIPAL_LENGTH,
  MAX_NAME_LENGTH,
  MAX_PATH_PATTERN_LENGTH,
  MAX_SECRET_PATH_LENGTH,
  MAX_SPIFFE_ID_PATTERN_LENGTH,
  MAX_VERSIONS_LIST_LENGTH,
} from './validate.ts';
import {
  AUDIT_DECISIONS,
  PERMISSIONS,
  type AuditListRequest,
  type AuditListResponse,
  type WhoamiRequest,
  type WhoamiResponse,
  SHARD_SIZE,
  type AuditKeyResponse,
  type BootstrapVerifyRequest,
  type BootstrapVerifyResponse,
  type CipherDecryptRequest,
  type CipherDecryptResponse,
  type CipherEncryptRequest,
  type CipherEncryptResponse,
  type DamagedRowListResponse,
  type DamagedRowRemoveResponse,
  type KeeperStatusResponse,
  type NexusStatusResponse,
  type PolicyDeleteRequest,
  type PolicyDeleteResponse,
  type PolicyListRequest,
  type PolicyListResponse,
  type PolicyPutRequest,
  type PolicyPutResponse,
  type PolicyReadRequest,
  type PolicyReadResponse,
  type RecoverRequest,
  type RecoverResponse,
  type RestoreRequest,
  type RestoreResponse,
  type SecretDeleteRequest,
  type SecretDeleteResponse,
  type SecretGetRequest,
  type SecretGetResponse,
  type SecretListRequest,
  type SecretListResponse,
  type SecretMetadataRequest,
  type SecretMetadataResponse,
  type SecretPutRequest,
  type SecretPutResponse,
  type SecretUndeleteRequest,
  type SecretUndeleteResponse,
  type ShardContributeRequest,
  type ShardContributeResponse,
  type ShardGetRequest,
  type ShardGetResponse,
} from './wire.ts';

/** A success body: the response type without its error field. */
export type ResponseBody<R> = Omit<R, 'err'>;

/** The parts of a spec that do not depend on its types (what tables and generators iterate). */
interface RouteSpecBase {
  /** Short stable name for logs and docs, e.g. `secret.get`. */
  readonly name: string;
  /** One line for humans (docs, OpenAPI `summary`). */
  readonly summary: string;
  readonly server: 'nexus' | 'keeper';
  /** `spike`: SPIKE 0.8.2 has it; `ours`: an additive route SPIKE clients never call. */
  readonly origin: 'spike' | 'ours';
  readonly method: 'POST';
  readonly path: string;
  readonly action: Action;
  /** Who may call it, in words. */
  readonly callers: string;
  /** The field the error code goes in: `err`, or `Err` on the keeper's shard route. */
  readonly errorField: 'err' | 'Err';
  /**
   * Every wire code the route may answer; a server fault (500) is listed only where deliberate.
   * Nexus's 429 `api_rate_limited` is answered before the route is chosen: `{"err":…}` only.
   */
  readonly errors: readonly ErrorCode[];
  /** Present when the route also takes `application/octet-stream` (plain-text error codes). */
  readonly stream?: { readonly summary: string; readonly errors: readonly StreamErrorCode[] };
  /** True when the route works while Nexus has no root key (operator recover and restore). */
  readonly allowWhenNotReady?: boolean;
  /**
   * What a call does to the server's state; the one place that says which routes mutate:
   * - `read`: changes nothing. A client may send it again to another Nexus after it may have
   *   reached one (failover, ADR 0033).
   * - `write`: changes what Nexus stores. Never sent twice by a client once it may have reached a
   *   server; refused while the audit aggregator cannot take records under the `block` policy
   *   (ADR 0029); may end in 500 `api_outcome_unknown` on a shared database (ADR 0032).
   * - `custody`: root-key custody (operator recover/restore, a keeper taking a share): not sent
   *   twice by a client, and never held back by audit shipping (break-the-glass).
   */
  readonly effect: RouteEffect;
}

/** See `RouteSpecBase.effect`. */
export type RouteEffect = 'read' | 'write' | 'custody';

/** Whether a client may send a call of `spec` again after it may have reached a server. */
export function isReplaySafe(spec: Pick<RouteSpecBase, 'effect'>): boolean {
  return spec.effect === 'read';
}

/** One route: `Req` is the wire request, `Decoded` what the decoder makes of it, `Res` the response type. */
export interface RouteSpec<Req, Decoded, Res> extends RouteSpecBase {
  readonly request: SchemaOf<Req>;
  /** A request that decodes and validates (docs, OpenAPI `example`, route tests). */
  readonly example: Req;
  /** Checks JSON types and builds the request (throws `BadRequestError`). */
  readonly decode: (body: unknown) => Decoded;
  readonly response: SchemaOf<ResponseBody<Res>>;
  /**
   * The success body with every field zeroed: an error body is this plus the code. SPIKE's routes
   * give every field; an additive route of ours may answer the code alone (`{}`).
   */
  readonly errorBody: Readonly<ResponseBody<Res>> | Readonly<Record<string, never>>;
}

/** Any spec, its types erased: what a table of different routes holds. */
export interface AnyRouteSpec extends RouteSpecBase {
  readonly request: ObjectSchema;
  readonly example: unknown;
  readonly decode: (body: unknown) => unknown;
  readonly response: ObjectSchema;
  readonly errorBody: Readonly<Record<string, unknown>>;
}

/** `path?action=…` as a client sends it. */
export function routeTarget(spec: Pick<AnyRouteSpec, 'path' | 'action'>): string {
  return spec.action === '' ? spec.path : `${spec.path}?action=${spec.action}`;
}

// --- schema pieces ---------------------------------------------------------------------------

const str = (summary?: string, maxLength?: number) =>
  ({
    schema: { type: 'string', ...(maxLength === undefined ? {} : { maxLength }) },
    ...(summary === undefined ? {} : { summary }),
  }) as const;
const base64 = { type: 'string', format: 'base64' } as const;
/** A 12-byte AES-GCM nonce in base64: exactly 16 characters. */
const NONCE = {
  schema: { type: 'string', format: 'base64', minLength: 16, maxLength: 16 },
  summary: '12 bytes.',
} as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const version = { type: 'integer', minimum: 0 } as const;
const shard = {
  type: 'array',
  items: { type: 'integer', minimum: 0, maximum: 255 },
  minItems: SHARD_SIZE,
  maxItems: SHARD_SIZE,
} as const;
const permissions = { type: 'array', items: { type: 'string', enum: PERMISSIONS } } as const;
const EMPTY_OBJECT = { type: 'object', fields: {} } as const;

const SECRET_PATH = str(
  'Secret path: 1..500 of a-z A-Z 0-9 . _ - / ( ) ? + * | [ ] { } \\',
  MAX_SECRET_PATH_LENGTH,
);
const VERSIONS = {
  schema: { type: 'array', items: version, maxItems: MAX_VERSIONS_LIST_LENGTH },
  optional: true,
  summary: 'Versions; empty or 0 means the current one.',
} as const;

/** Our additive fields of the secret and policy lists: what a damaged row left out. */
const DAMAGED_ROW_FIELDS = {
  damagedRows: {
    schema: { type: 'integer', minimum: 1 },
    optional: true,
    summary: 'Ours, only when above 0: damaged rows left out.',
  },
  damagedNames: {
    schema: { type: 'array', items: { type: 'string' } },
    optional: true,
    summary: 'Ours, only when some are known: names of the damaged rows left out that Nexus could tell.',
  },
} as const;

/**
 * Errors every route of Nexus may answer, the not-ready gate aside. 429 `api_rate_limited` comes
 * from the per-caller limits of the API listener, before a route is chosen, so its body is
 * `{"err":"api_rate_limited"}` alone, not the route's zeroed error body (ADR 0015).
 */
const NEXUS_LISTENER: readonly ErrorCode[] = [
  ErrorCode.BadRequest,
  ErrorCode.Unauthorized,
  ErrorCode.BodyTooLarge,
  ErrorCode.RateLimited,
];

/** Errors every JSON route of Nexus behind the not-ready gate may answer before its handler runs. */
const NEXUS_GATE: readonly ErrorCode[] = [...NEXUS_LISTENER, ErrorCode.NotReady];

/** The gate's errors and, on a shared database, a commit whose answer was lost (ADR 0032). */
const NEXUS_WRITE: readonly ErrorCode[] = [...NEXUS_GATE, ErrorCode.OutcomeUnknown];

/** Go's zero `time.Time` as encoding/json writes it (policy error bodies). */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

// --- secrets ---------------------------------------------------------------------------------

export const SECRET_PUT: RouteSpec<SecretPutRequest, SecretPutRequest, SecretPutResponse> = {
  name: 'secret.put',
  summary: 'Write a new version of a secret.',
  server: 'nexus',
  origin: 'spike',
  effect: 'write',
  method: 'POST',
  path: URL_SECRETS,
  action: ACTION_DEFAULT,
  callers: '`write` on the path',
  request: {
    type: 'object',
    fields: {
      path: SECRET_PATH,
      values: {
        schema: { type: 'map', values: { type: 'string' }, keys: 'value name' },
        summary: 'Name → value.',
      },
    },
  },
  example: { path: 'tenants/demo/db', values: { username: 'admin' } },
  decode: decodeSecretPutRequest,
  response: EMPTY_OBJECT,
  errorBody: {},
  errorField: 'err',
  errors: [...NEXUS_WRITE, ErrorCode.ApprovalRequired],
};

export const SECRET_GET: RouteSpec<SecretGetRequest, Required<SecretGetRequest>, SecretGetResponse> = {
  name: 'secret.get',
  summary: 'Read a live version of a secret (0 or absent: the current one).',
  server: 'nexus',
  origin: 'spike',
  effect: 'read',
  method: 'POST',
  path: URL_SECRETS,
  action: ACTION_GET,
  callers: '`read` on the path',
  request: {
    type: 'object',
    fields: { path: SECRET_PATH, version: { schema: version, optional: true, summary: '0 means current.' } },
  },
  example: { path: 'tenants/demo/db', version: 0 },
  decode: decodeSecretGetRequest,
  response: {
    type: 'object',
    fields: { data: { schema: { type: 'map', values: { type: 'string' } }, nullable: true } },
  },
  errorBody: { data: null },
  errorField: 'err',
  errors: [...NEXUS_GATE, ErrorCode.NotFound, ErrorCode.ApprovalRequired],
};

const versionsSpec = (
  name: string,
  summary: string,
  action: Action,
): RouteSpec<SecretDeleteRequest, Required<SecretDeleteRequest>, SecretDeleteResponse> => ({
  name,
  summary,
  server: 'nexus',
  origin: 'spike',
  effect: 'write',
  method: 'POST',
  path: URL_SECRETS,
  action,
  callers: '`write` on the path',
  request: { type: 'object', fields: { path: SECRET_PATH, versions: VERSIONS } },
  example: { path: 'tenants/demo/db', versions: [1] },
  decode: action === ACTION_DELETE ? decodeSecretDeleteRequest : decodeSecretUndeleteRequest,
  response: EMPTY_OBJECT,
  errorBody: {},
  errorField: 'err',
  errors: [...NEXUS_WRITE, ErrorCode.NotFound, ErrorCode.ApprovalRequired],
});

export const SECRET_DELETE = versionsSpec(
  'secret.delete',
  'Soft-delete versions of a secret.',
  ACTION_DELETE,
);
export const SECRET_UNDELETE: RouteSpec<
  SecretUndeleteRequest,
  Required<SecretUndeleteRequest>,
  SecretUndeleteResponse
> = versionsSpec('secret.undelete', 'Restore soft-deleted versions of a secret.', ACTION_UNDELETE);

export const SECRET_LIST: RouteSpec<SecretListRequest, SecretListRequest, SecretListResponse> = {
  name: 'secret.list',
  summary: 'List every secret path, sorted.',
  server: 'nexus',
  origin: 'spike',
  effect: 'read',
  method: 'POST',
  path: URL_SECRETS,
  action: ACTION_LIST,
  callers: '`list` on `spike/system/secret`',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeSecretListRequest,
  response: {
    type: 'object',
    fields: {
      keys: { schema: { type: 'array', items: { type: 'string' } }, nullable: true },
      ...DAMAGED_ROW_FIELDS,
    },
  },
  errorBody: { keys: null },
  errorField: 'err',
  errors: NEXUS_GATE,
};

export const SECRET_METADATA: RouteSpec<
  SecretMetadataRequest,
  Required<SecretMetadataRequest>,
  SecretMetadataResponse
> = {
  name: 'secret.metadata',
  summary: 'Read the version metadata of a secret.',
  server: 'nexus',
  origin: 'spike',
  effect: 'read',
  method: 'POST',
  path: URL_SECRETS_METADATA,
  action: ACTION_GET,
  callers: '`read` on the path',
  request: {
    type: 'object',
    fields: { path: SECRET_PATH, version: { schema: version, optional: true, summary: '0 means current.' } },
  },
  example: { path: 'tenants/demo/db' },
  decode: decodeSecretMetadataRequest,
  response: {
    type: 'object',
    fields: {
      versions: {
        optional: true,
        schema: {
          type: 'map',
          keys: 'decimal version number',
          values: {
            type: 'object',
            fields: {
              createdTime: { schema: dateTime },
              version: { schema: version },
              deletedTime: { schema: dateTime, nullable: true, summary: 'null while live.' },
            },
          },
        },
        nullable: true,
      },
      metadata: {
        schema: {
          type: 'object',
          fields: {
            currentVersion: { schema: version, summary: '0 when every version is deleted.' },
            oldestVersion: { schema: version },
            createdTime: { schema: dateTime },
            updatedTime: { schema: dateTime },
            maxVersions: { schema: { type: 'integer', minimum: 0 } },
          },
        },
        nullable: true,
      },
    },
  },
  // SPIKE's shape: Go leaves out the empty `versions` map and writes `metadata` zeroed.
  errorBody: {
    metadata: {
      currentVersion: 0,
      oldestVersion: 0,
      createdTime: GO_ZERO_TIME,
      updatedTime: GO_ZERO_TIME,
      maxVersions: 0,
    },
  },
  errorField: 'err',
  errors: [...NEXUS_GATE, ErrorCode.NotFound],
};

// --- policies --------------------------------------------------------------------------------

const POLICY_NAME = str('Policy name.', MAX_NAME_LENGTH);
const SPIFFEID_PATTERN = str('RE2 pattern the caller SPIFFE ID must match.', MAX_SPIFFE_ID_PATTERN_LENGTH);
const PATH_PATTERN = str('RE2 pattern the secret path must match.', MAX_PATH_PATTERN_LENGTH);

/** Our additive policy fields (ADR 0036); SPIKE's clients neither send nor read them. */
const POLICY_PEOPLE_FIELDS = {
  people: {
    schema: {
      type: 'array',
      items: { type: 'string', maxLength: MAX_PRINCIPAL_LENGTH },
      maxItems: MAX_POLICY_PEOPLE,
    },
    optional: true,
    summary: 'Ours: people (`user:<name>`, exact) the policy grants to.',
  },
  groups: {
    schema: {
      type: 'array',
      items: { type: 'string', maxLength: MAX_PRINCIPAL_LENGTH },
      maxItems: MAX_POLICY_PEOPLE,
    },
    optional: true,
    summary: "Ours: groups (the issuer's groups claim, exact) whose members the policy grants to.",
  },
  workloadsOnly: {
    schema: { type: 'boolean' },
    optional: true,
    summary: 'Ours: no person (admins included) reads a value on the matched paths.',
  },
  approval: {
    schema: {
      type: 'object',
      fields: {
        required: { schema: { type: 'integer', minimum: 1, maximum: APPROVAL_MAX_REQUIRED } },
        approverGroups: {
          schema: {
            type: 'array',
            items: { type: 'string', maxLength: APPROVAL_MAX_NAME_LENGTH },
            maxItems: APPROVAL_MAX_APPROVERS,
          },
          optional: true,
        },
        approverPeople: {
          schema: {
            type: 'array',
            items: { type: 'string', maxLength: APPROVAL_MAX_NAME_LENGTH },
            maxItems: APPROVAL_MAX_APPROVERS,
          },
          optional: true,
          summary: '`user:<name>` each.',
        },
        permissions: {
          schema: { type: 'array', items: { type: 'string', enum: APPROVAL_PERMISSIONS } },
          optional: true,
          summary: "Operations that need approval; default: the policy's own permissions.",
        },
        grantTtlSeconds: {
          schema: { type: 'integer', minimum: 1, maximum: APPROVAL_MAX_GRANT_TTL_SECONDS },
          optional: true,
          summary: `Default ${APPROVAL_DEFAULT_GRANT_TTL_SECONDS}.`,
        },
        requestTtlSeconds: {
          schema: { type: 'integer', minimum: 1, maximum: APPROVAL_MAX_REQUEST_TTL_SECONDS },
          optional: true,
          summary: `Default ${APPROVAL_DEFAULT_REQUEST_TTL_SECONDS}.`,
        },
      },
    },
    optional: true,
    summary:
      'Ours (ADR 0042): the matched paths need M approvals from the named people or groups before the listed operations, for every caller.',
  },
} as const;

export const POLICY_UPSERT: RouteSpec<PolicyPutRequest, DecodedPolicyPutRequest, PolicyPutResponse> = {
  name: 'policy.upsert',
  summary: 'Create or replace a policy by name.',
  server: 'nexus',
  origin: 'spike',
  effect: 'write',
  method: 'POST',
  path: URL_POLICY,
  action: ACTION_DEFAULT,
  callers: '`write` on `spike/system/acl`',
  request: {
    type: 'object',
    fields: {
      name: POLICY_NAME,
      spiffeidPattern: SPIFFEID_PATTERN,
      pathPattern: PATH_PATTERN,
      permissions: { schema: permissions },
      ...POLICY_PEOPLE_FIELDS,
    },
  },
  example: {
    name: 'demo-read',
    spiffeidPattern: '^spiffe://spike\\.ist/workload/demo$',
    pathPattern: '^tenants/demo/.*$',
    permissions: ['read'],
  },
  decode: decodePolicyPutRequest,
  response: {
    type: 'object',
    fields: {
      id: { schema: { type: 'string' }, optional: true, summary: 'Never sent (SPIKE never fills it).' },
    },
  },
  errorBody: {},
  errorField: 'err',
  errors: [...NEXUS_WRITE, ErrorCode.ApprovalRequired],
};

/** A policy on the wire; note SPIKE's misspelled `spiffiedPattern`, which its clients read. */
const POLICY_VIEW_PEOPLE = POLICY_PEOPLE_FIELDS;
const POLICY_VIEW = {
  type: 'object',
  fields: {
    id: { schema: { type: 'string' }, summary: 'Always empty: policies are keyed by name.' },
    name: { schema: { type: 'string' } },
    spiffiedPattern: { schema: { type: 'string' }, summary: "SPIKE's spelling." },
    spiffeidPattern: { schema: { type: 'string' }, summary: 'The same value, spelled right (ours).' },
    pathPattern: { schema: { type: 'string' } },
    permissions: { schema: permissions, nullable: true },
    createdAt: { schema: dateTime },
    updatedAt: { schema: dateTime },
    ...POLICY_VIEW_PEOPLE,
  },
} as const;

export const POLICY_GET: RouteSpec<PolicyReadRequest, PolicyReadRequest, PolicyReadResponse> = {
  name: 'policy.get',
  summary: 'Read a policy by name (sent in `id`).',
  server: 'nexus',
  origin: 'spike',
  effect: 'read',
  method: 'POST',
  path: URL_POLICY,
  action: ACTION_GET,
  callers: '`read` on `spike/system/acl`',
  request: { type: 'object', fields: { id: POLICY_NAME } },
  example: { id: 'demo-read' },
  decode: decodePolicyReadRequest,
  response: POLICY_VIEW,
  errorBody: {
    id: '',
    name: '',
    spiffiedPattern: '',
    spiffeidPattern: '',
    pathPattern: '',
    permissions: null,
    createdAt: GO_ZERO_TIME,
    updatedAt: GO_ZERO_TIME,
  },
  errorField: 'err',
  errors: [...NEXUS_GATE, ErrorCode.NotFound],
};

export const POLICY_DELETE: RouteSpec<PolicyDeleteRequest, PolicyDeleteRequest, PolicyDeleteResponse> = {
  name: 'policy.delete',
  summary: 'Delete a policy by name (sent in `id`).',
  server: 'nexus',
  origin: 'spike',
  effect: 'write',
  method: 'POST',
  path: URL_POLICY,
  action: ACTION_DELETE,
  callers: '`write` on `spike/system/acl`',
  request: { type: 'object', fields: { id: POLICY_NAME } },
  example: { id: 'demo-read' },
  decode: decodePolicyDeleteRequest,
  response: EMPTY_OBJECT,
  errorBody: {},
  errorField: 'err',
  errors: [...NEXUS_WRITE, ErrorCode.NotFound, ErrorCode.ApprovalRequired],
};

export const POLICY_LIST: RouteSpec<PolicyListRequest, Required<PolicyListRequest>, PolicyListResponse> = {
  name: 'policy.list',
  summary: 'List policies, optionally those with exactly this SPIFFE ID or path pattern.',
  server: 'nexus',
  origin: 'spike',
  effect: 'read',
  method: 'POST',
  path: URL_POLICY,
  action: ACTION_LIST,
  callers: '`list` on `spike/system/acl`',
  request: {
    type: 'object',
    fields: {
      spiffeidPattern: {
        schema: { type: 'string' },
        optional: true,
        summary: 'Exact match; wins over pathPattern.',
      },
      pathPattern: { schema: { type: 'string' }, optional: true, summary: 'Exact match.' },
    },
  },
  example: {},
  decode: decodePolicyListRequest,
  response: {
    type: 'object',
    fields: {
      policies: {
        schema: { type: 'array', items: POLICY_VIEW },
        nullable: true,
        summary: 'Each entry is the whole policy (SPIKE clients read `id` and `name`).',
      },
      ...DAMAGED_ROW_FIELDS,
    },
  },
  errorBody: { policies: null },
  errorField: 'err',
  errors: NEXUS_GATE,
};

// --- cipher ----------------------------------------------------------------------------------

export const CIPHER_ENCRYPT: RouteSpec<
  CipherEncryptRequest,
  DecodedCipherEncryptRequest,
  CipherEncryptResponse
> = {
  name: 'cipher.encrypt',
  summary: 'Encrypt with the cipher key (AES-256-GCM, fresh nonce).',
  server: 'nexus',
  origin: 'spike',
  effect: 'read',
  method: 'POST',
  path: URL_CIPHER_ENCRYPT,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser, lite workloads, `execute` on `spike/system/cipher/exec`',
  request: {
    type: 'object',
    fields: {
      plaintext: { schema: base64, summary: 'The bytes to encrypt.' },
      algorithm: { schema: { type: 'string' }, optional: true, summary: 'Ignored (as SPIKE).' },
    },
  },
  example: { plaintext: 'aGVsbG8=' },
  decode: decodeCipherEncryptRequest,
  response: {
    type: 'object',
    fields: {
      version: { schema: { type: 'integer', minimum: 0 }, summary: 'Always 1.' },
      nonce: { schema: base64, nullable: true },
      ciphertext: { schema: base64, nullable: true, summary: 'Ciphertext and GCM tag.' },
    },
  },
  errorBody: { version: 0, nonce: null, ciphertext: null },
  errorField: 'err',
  errors: NEXUS_GATE,
  stream: {
    summary: 'Raw plaintext in; `0x01 ‖ nonce(12) ‖ ciphertext‖tag(16)` out.',
    errors: [StreamErrorCode.BadRequest],
  },
};

export const CIPHER_DECRYPT: RouteSpec<
  CipherDecryptRequest,
  DecodedCipherDecryptRequest,
  CipherDecryptResponse
> = {
  name: 'cipher.decrypt',
  summary: 'Decrypt what cipher.encrypt produced; a ciphertext that does not authenticate is 500, as SPIKE.',
  server: 'nexus',
  origin: 'spike',
  effect: 'read',
  method: 'POST',
  path: URL_CIPHER_DECRYPT,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser, lite workloads, `execute` on `spike/system/cipher/exec`',
  request: {
    type: 'object',
    fields: {
      version: { schema: { type: 'integer', minimum: 1, maximum: 1 } },
      nonce: NONCE,
      ciphertext: { schema: base64 },
      algorithm: { schema: { type: 'string' }, optional: true, summary: 'Ignored (as SPIKE).' },
    },
  },
  example: { version: 1, nonce: 'AAAAAAAAAAAAAAAA', ciphertext: 'AAAAAAAAAAAAAAAAAAAAAA==' },
  decode: decodeCipherDecryptRequest,
  response: { type: 'object', fields: { plaintext: { schema: base64, nullable: true } } },
  errorBody: { plaintext: null },
  errorField: 'err',
  errors: [...NEXUS_GATE, ErrorCode.Internal],
  stream: {
    summary: '`0x01 ‖ nonce(12) ‖ ciphertext‖tag(16)` in; raw plaintext out.',
    errors: [
      StreamErrorCode.FailedToReadVersion,
      StreamErrorCode.UnsupportedVersion,
      StreamErrorCode.FailedToReadNonce,
      StreamErrorCode.DecryptionFailed,
      StreamErrorCode.BadRequest,
    ],
  },
};

// --- operator / bootstrap --------------------------------------------------------------------

export const OPERATOR_RECOVER: RouteSpec<RecoverRequest, RecoverRequest, RecoverResponse> = {
  name: 'operator.recover',
  summary: 'Every Shamir share of the root key, for the recovery files.',
  server: 'nexus',
  origin: 'spike',
  effect: 'custody',
  method: 'POST',
  path: URL_OPERATOR_RECOVER,
  action: ACTION_DEFAULT,
  callers: 'Pilot recover role only',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeSecretListRequest,
  response: {
    type: 'object',
    fields: { shards: { schema: { type: 'map', keys: 'share index 1..n', values: shard }, nullable: true } },
  },
  errorBody: { shards: null },
  errorField: 'err',
  errors: NEXUS_GATE,
  allowWhenNotReady: true,
};

export const OPERATOR_RESTORE: RouteSpec<RestoreRequest, DecodedRestoreRequest, RestoreResponse> = {
  name: 'operator.restore',
  summary: 'Hand Nexus one Shamir share; with enough of them it rebuilds the root key.',
  server: 'nexus',
  origin: 'spike',
  effect: 'custody',
  method: 'POST',
  path: URL_OPERATOR_RESTORE,
  action: ACTION_DEFAULT,
  callers: 'Pilot restore role only',
  request: {
    type: 'object',
    fields: {
      id: { schema: { type: 'integer', minimum: 1 }, summary: 'Share index.' },
      shard: { schema: shard, summary: '32 integers 0..255, not all zero.' },
    },
  },
  example: { id: 1, shard: Array.from({ length: SHARD_SIZE }, () => 5) },
  decode: decodeRestoreRequest,
  response: {
    type: 'object',
    fields: {
      collected: { schema: { type: 'integer', minimum: 0 } },
      remaining: { schema: { type: 'integer', minimum: 0 } },
      restored: { schema: { type: 'boolean' } },
    },
  },
  errorBody: { collected: 0, remaining: 0, restored: false },
  errorField: 'err',
  errors: NEXUS_LISTENER,
  allowWhenNotReady: true,
};

export const OPERATOR_STATUS: RouteSpec<Record<string, never>, Record<string, never>, NexusStatusResponse> = {
  name: 'operator.status',
  summary: "This Nexus's version, readiness, root-key state, Shamir settings and keepers.",
  server: 'nexus',
  origin: 'ours',
  effect: 'read',
  method: 'POST',
  path: URL_OPERATOR_STATUS,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser only',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeSecretListRequest,
  response: {
    type: 'object',
    fields: {
      version: { schema: { type: 'string' } },
      ready: { schema: { type: 'boolean' } },
      backend: { schema: { type: 'string', enum: ['memory', 'sqlite'] } },
      rootKey: { schema: { type: 'string', enum: ['installed', 'missing', 'none'] } },
      shares: { schema: { type: 'integer', minimum: 0 } },
      threshold: { schema: { type: 'integer', minimum: 0 } },
      keepers: {
        schema: {
          type: 'array',
          items: {
            type: 'object',
            fields: {
              url: { schema: { type: 'string' } },
              state: { schema: { type: 'string', enum: ['ok', 'reseeded', 'unreachable', 'unknown'] } },
            },
          },
        },
      },
    },
  },
  errorBody: {},
  errorField: 'err',
  errors: NEXUS_LISTENER,
  allowWhenNotReady: true,
};

export const OPERATOR_AUDIT_KEY: RouteSpec<Record<string, never>, Record<string, never>, AuditKeyResponse> = {
  name: 'audit.key',
  summary: 'The public key that verifies the audit checkpoints, and the last checkpoint written.',
  server: 'nexus',
  origin: 'ours',
  method: 'POST',
  path: URL_OPERATOR_AUDIT_KEY,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser only',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeSecretListRequest,
  response: {
    type: 'object',
    fields: {
      publicKey: { schema: { type: 'string' }, summary: 'SPKI PEM (Ed25519).' },
      keyId: { schema: { type: 'string', format: 'hex' } },
      checkpoint: { schema: { type: 'string' }, summary: 'The last checkpoint line (JSON text).' },
    },
  },
  errorBody: {},
  errorField: 'err',
  errors: NEXUS_LISTENER,
  allowWhenNotReady: true,
  effect: 'read',
};

export const BOOTSTRAP_VERIFY: RouteSpec<
  BootstrapVerifyRequest,
  DecodedBootstrapVerifyRequest,
  BootstrapVerifyResponse
> = {
  name: 'bootstrap.verify',
  summary: 'Proof that Nexus holds the root key: SHA-256 (hex) of what Bootstrap encrypted with it.',
  server: 'nexus',
  origin: 'spike',
  effect: 'read',
  method: 'POST',
  path: URL_BOOTSTRAP_VERIFY,
  action: ACTION_DEFAULT,
  callers: 'Bootstrap only',
  request: {
    type: 'object',
    fields: { nonce: NONCE, ciphertext: { schema: base64 } },
  },
  example: { nonce: 'AAAAAAAAAAAAAAAA', ciphertext: 'AAAAAAAAAAAAAAAAAAAAAA==' },
  decode: decodeBootstrapVerifyRequest,
  response: { type: 'object', fields: { hash: { schema: { type: 'string', format: 'hex' } } } },
  errorBody: { hash: '' },
  errorField: 'err',
  errors: [...NEXUS_GATE, ErrorCode.Internal],
};

// --- damaged store rows (ours) --------------------------------------------------------------

export const DAMAGED_LIST: RouteSpec<Record<string, never>, Record<string, never>, DamagedRowListResponse> = {
  name: 'operator.damaged.list',
  summary: "List the store's damaged rows (their names only when the store can tell them).",
  server: 'nexus',
  origin: 'ours',
  effect: 'read',
  method: 'POST',
  path: URL_OPERATOR_DAMAGED,
  action: ACTION_LIST,
  callers: 'Pilot superuser only',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeDamagedRowListRequest,
  response: {
    type: 'object',
    fields: {
      rows: {
        nullable: true,
        schema: {
          type: 'array',
          items: {
            type: 'object',
            fields: {
              table: { schema: { type: 'string', enum: ['policies', 'secrets', 'secret_versions'] } },
              id: { schema: { type: 'string', format: 'hex' }, summary: '64 hex digits: the row place.' },
              version: {
                schema: { type: 'integer', minimum: 1 },
                optional: true,
                summary: 'secret_versions only: the version of the row.',
              },
              kind: {
                schema: {
                  type: 'string',
                  enum: ['unreadable', 'misplaced', 'versions-without-secret', 'stale', 'missing'],
                },
              },
              name: { schema: { type: 'string' }, optional: true, summary: 'When the store can tell it.' },
            },
          },
        },
      },
    },
  },
  errorBody: { rows: null },
  errorField: 'err',
  errors: NEXUS_GATE,
};

export const DAMAGED_DELETE: RouteSpec<
  DamagedRowRemoveRequest,
  DamagedRowRemoveRequest,
  DamagedRowRemoveResponse
> = {
  name: 'operator.damaged.delete',
  summary: 'Remove one damaged row (a row that opens is never removed).',
  server: 'nexus',
  origin: 'ours',
  effect: 'write',
  method: 'POST',
  path: URL_OPERATOR_DAMAGED,
  action: ACTION_DELETE,
  callers: 'Pilot superuser only',
  request: {
    type: 'object',
    fields: {
      table: { schema: { type: 'string', enum: ['policies', 'secrets', 'secret_versions'] } },
      id: { schema: { type: 'string', format: 'hex' }, summary: '64 lower-case hex digits.' },
      version: {
        schema: { type: 'integer', minimum: 0 },
        optional: true,
        summary: 'secret_versions: the version to remove (from 1); absent or 0 for the other tables.',
      },
    },
  },
  example: { table: 'secrets', id: '0'.repeat(64) },
  decode: decodeDamagedRowRemoveRequest,
  response: EMPTY_OBJECT,
  errorBody: {},
  errorField: 'err',
  errors: [...NEXUS_WRITE, ErrorCode.NotFound],
};

// --- root-key rotation (ours, ADR 0044) -------------------------------------------------------

const ROOT_KEY_STATUS_FIELDS = {
  type: 'object',
  fields: {
    generation: {
      schema: { type: 'integer', minimum: 0 },
      summary: 'New rows are sealed under this generation (1: the bootstrap key; 0: the memory backend).',
    },
    rotating: { schema: { type: 'boolean' } },
    from: { schema: { type: 'integer', minimum: 0 }, summary: 'The generation being retired (0: none).' },
    phase: { schema: { type: 'string', enum: [...ROTATION_PHASES] } },
    startedAt: { schema: { type: 'string' }, summary: "ISO time the rotation began ('' when none)." },
    lastRotatedAt: {
      schema: { type: 'string' },
      summary: "ISO time the last rotation finished ('' when none).",
    },
    rowsTotal: { schema: { type: 'integer', minimum: 0 } },
    rowsRemaining: {
      schema: { type: 'integer', minimum: 0 },
      summary: 'Rows still sealed under an older generation.',
    },
  },
} as const;
const ROOT_KEY_ERROR_BODY: RootKeyStatusResponse = {
  generation: 0,
  rotating: false,
  from: 0,
  phase: 'idle',
  startedAt: '',
  lastRotatedAt: '',
  rowsTotal: 0,
  rowsRemaining: 0,
};

export const ROOT_KEY_ROTATE: RouteSpec<RootKeyRequest, RootKeyRequest, RootKeyStatusResponse> = {
  name: 'operator.rootKey.rotate',
  summary:
    'Begin an online root-key rotation: a new root key, its shares to the keepers, every row re-sealed in the background.',
  server: 'nexus',
  origin: 'ours',
  effect: 'custody',
  method: 'POST',
  path: URL_OPERATOR_ROOT_KEY_ROTATE,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser, Pilot recover, admins',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeRootKeyRequest,
  response: ROOT_KEY_STATUS_FIELDS,
  errorBody: ROOT_KEY_ERROR_BODY,
  errorField: 'err',
  errors: NEXUS_GATE,
};

export const ROOT_KEY_STATUS: RouteSpec<RootKeyRequest, RootKeyRequest, RootKeyStatusResponse> = {
  name: 'operator.rootKey.status',
  summary: "The root key's generation and the progress of an unfinished rotation.",
  server: 'nexus',
  origin: 'ours',
  effect: 'read',
  method: 'POST',
  path: URL_OPERATOR_ROOT_KEY_STATUS,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser, Pilot recover, admins, auditors',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeRootKeyRequest,
  response: ROOT_KEY_STATUS_FIELDS,
  errorBody: ROOT_KEY_ERROR_BODY,
  errorField: 'err',
  errors: NEXUS_GATE,
};

// --- keeper ----------------------------------------------------------------------------------

const KEEPER_ERRORS: readonly ErrorCode[] = [
  ErrorCode.BadRequest,
  ErrorCode.Unauthorized,
  ErrorCode.BodyTooLarge,
];

export const KEEPER_CONTRIBUTE: RouteSpec<
  ShardContributeRequest,
  DecodedShardContributeRequest,
  ShardContributeResponse
> = {
  name: 'keeper.contribute',
  summary: 'Give the keeper its Shamir share.',
  server: 'keeper',
  origin: 'spike',
  effect: 'custody',
  method: 'POST',
  path: URL_KEEPER_CONTRIBUTE,
  action: ACTION_DEFAULT,
  callers: 'Nexus, Bootstrap',
  request: {
    type: 'object',
    fields: { shard: { schema: shard, summary: '32 integers 0..255, not all zero.' } },
  },
  example: { shard: Array.from({ length: SHARD_SIZE }, () => 5) },
  decode: decodeShardContributeRequest,
  response: EMPTY_OBJECT,
  errorBody: {},
  errorField: 'err',
  errors: KEEPER_ERRORS,
};

export const KEEPER_SHARD: RouteSpec<ShardGetRequest, ShardGetRequest, ShardGetResponse> = {
  name: 'keeper.shard',
  summary: 'The share the keeper holds (400 when it holds none).',
  server: 'keeper',
  origin: 'spike',
  effect: 'read',
  method: 'POST',
  path: URL_KEEPER_SHARD,
  action: ACTION_DEFAULT,
  callers: 'Nexus only',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeSecretListRequest,
  response: {
    type: 'object',
    fields: {
      shard: { schema: shard, nullable: true },
      Err: { schema: { type: 'string' }, summary: 'Empty on success (SPIKE has no JSON tag here).' },
    },
  },
  errorBody: { shard: null, Err: '' },
  errorField: 'Err',
  errors: KEEPER_ERRORS,
};

export const KEEPER_STATUS: RouteSpec<Record<string, never>, Record<string, never>, KeeperStatusResponse> = {
  name: 'keeper.status',
  summary: 'Whether the keeper holds a share (never the share itself).',
  server: 'keeper',
  origin: 'ours',
  effect: 'read',
  method: 'POST',
  path: URL_KEEPER_STATUS,
  action: ACTION_DEFAULT,
  callers: 'Nexus, Bootstrap',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeSecretListRequest,
  response: { type: 'object', fields: { hasShard: { schema: { type: 'boolean' } } } },
  errorBody: { hasShard: false },
  errorField: 'err',
  errors: KEEPER_ERRORS,
};

// --- named keys (ours; keys.ts, ADR 0039) -----------------------------------------------------

const KEY_ERRORS = [
  ErrorCode.BadRequest,
  ErrorCode.Unauthorized,
  ErrorCode.BodyTooLarge,
  ErrorCode.RateLimited,
  ErrorCode.NotReady,
  ErrorCode.NotFound,
] as const;
const KEY_NAME = {
  schema: { type: 'string', maxLength: MAX_KEY_NAME_LENGTH },
  summary: 'Key name: 1..200 of A-Z a-z 0-9 . _ - /',
} as const;
const KEY_VERSION = { type: 'integer', minimum: 0 } as const;
/** Key changes are stored rows too: on a shared database a lost COMMIT answer is possible. */
const KEY_WRITE_ERRORS = [...KEY_ERRORS, ErrorCode.OutcomeUnknown] as const;
const KEY_COMMON = {
  server: 'nexus',
  origin: 'ours',
  method: 'POST',
  errorField: 'err',
  errors: KEY_ERRORS,
  errorBody: {},
} as const;

export const KEY_CREATE: RouteSpec<KeyCreateRequest, KeyCreateRequest, KeyCreateResponse> = {
  ...KEY_COMMON,
  name: 'key.create',
  effect: 'write',
  errors: KEY_WRITE_ERRORS,
  summary: 'Generate a named key inside Nexus (version 1); its private half never leaves.',
  path: URL_KEYS,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser, `write` on the key name',
  request: {
    type: 'object',
    fields: {
      name: KEY_NAME,
      algorithm: { schema: { type: 'string', enum: KEY_ALGORITHMS } },
      userId: {
        schema: { type: 'string', maxLength: MAX_KEY_USER_ID_LENGTH },
        optional: true,
        summary: 'OpenPGP user ID (default `spike key <name>`).',
      },
    },
  },
  example: { name: 'release/signing', algorithm: 'ed25519' },
  decode: decodeKeyCreateRequest,
  response: {
    type: 'object',
    fields: {
      name: { schema: { type: 'string' } },
      algorithm: { schema: { type: 'string' } },
      version: { schema: KEY_VERSION },
    },
  },
};

export const KEY_LIST: RouteSpec<KeyListRequest, KeyListRequest, KeyListResponse> = {
  ...KEY_COMMON,
  name: 'key.list',
  effect: 'read',
  summary: 'List the named keys (names, algorithms, newest versions).',
  path: URL_KEYS,
  action: ACTION_LIST,
  callers: 'Pilot superuser, `list` on `spike/system/keys`',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeKeyListRequest,
  response: {
    type: 'object',
    fields: {
      keys: {
        nullable: true,
        schema: {
          type: 'array',
          items: {
            type: 'object',
            fields: {
              name: { schema: { type: 'string' } },
              algorithm: { schema: { type: 'string' } },
              purpose: { schema: { type: 'string', enum: ['sign', 'decrypt'] } },
              latestVersion: { schema: KEY_VERSION },
            },
          },
        },
      },
    },
  },
};

export const KEY_PUBLIC: RouteSpec<KeyNameRequest, KeyNameRequest, KeyPublicResponse> = {
  ...KEY_COMMON,
  name: 'key.public',
  effect: 'read',
  summary: 'A key’s versions and public keys (PEM, JWK, armored OpenPGP); never a private key.',
  path: URL_KEYS,
  action: ACTION_GET,
  callers: 'Pilot superuser, `read` or `verify` on the key name',
  request: { type: 'object', fields: { name: KEY_NAME } },
  example: { name: 'release/signing' },
  decode: decodeKeyNameRequest,
  response: {
    type: 'object',
    fields: {
      name: { schema: { type: 'string' } },
      algorithm: { schema: { type: 'string' } },
      purpose: { schema: { type: 'string', enum: ['sign', 'decrypt'] } },
      approvalRequired: {
        schema: { type: 'boolean' },
        summary: 'True when a policy’s approval rule gates signing or decrypting with this key (ADR 0042).',
      },
      versions: {
        nullable: true,
        schema: {
          type: 'array',
          items: {
            type: 'object',
            fields: {
              version: { schema: KEY_VERSION },
              createdTime: { schema: { type: 'string', format: 'date-time' } },
              retiredTime: { schema: { type: 'string', format: 'date-time' }, nullable: true },
              publicKeyPem: { schema: { type: 'string' }, nullable: true },
              publicKeyJwk: { schema: { type: 'map', values: { type: 'string' } }, nullable: true },
              publicKeyArmored: { schema: { type: 'string' }, nullable: true },
              fingerprint: { schema: { type: 'string', format: 'hex' }, nullable: true },
            },
          },
        },
      },
    },
  },
};

export const KEY_ROTATE: RouteSpec<KeyNameRequest, KeyNameRequest, KeyRotateResponse> = {
  ...KEY_COMMON,
  name: 'key.rotate',
  effect: 'write',
  errors: KEY_WRITE_ERRORS,
  summary: 'Generate a new version of a key; signing uses the newest version from now on.',
  path: URL_KEYS_ROTATE,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser, `write` on the key name',
  request: { type: 'object', fields: { name: KEY_NAME } },
  example: { name: 'release/signing' },
  decode: decodeKeyNameRequest,
  response: { type: 'object', fields: { version: { schema: KEY_VERSION } } },
};

export const KEY_RETIRE: RouteSpec<KeyRetireRequest, KeyRetireRequest, KeyRetireResponse> = {
  ...KEY_COMMON,
  name: 'key.retire',
  effect: 'write',
  errors: KEY_WRITE_ERRORS,
  summary: 'Retire versions of a key: they no longer sign, verify or decrypt (kept, not deleted).',
  path: URL_KEYS_RETIRE,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser, `write` on the key name',
  request: {
    type: 'object',
    fields: {
      name: KEY_NAME,
      versions: { schema: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 1000 } },
    },
  },
  example: { name: 'release/signing', versions: [1] },
  decode: decodeKeyRetireRequest,
  response: EMPTY_OBJECT,
};

export const KEY_SIGN: RouteSpec<KeySignRequest, DecodedKeySignRequest, KeySignResponse> = {
  ...KEY_COMMON,
  name: 'key.sign',
  effect: 'read',
  summary: 'Sign a message with the newest version of a signing key.',
  path: URL_KEYS_SIGN,
  action: ACTION_DEFAULT,
  // Using a grant marks it used (a store write); see ADR 0042.
  errors: [...KEY_ERRORS, ErrorCode.ApprovalRequired],
  callers: 'Pilot superuser, `sign` on the key name',
  request: {
    type: 'object',
    fields: {
      name: KEY_NAME,
      message: { schema: base64, summary: 'The bytes to sign (cipher size limit).' },
    },
  },
  example: { name: 'release/signing', message: 'aGVsbG8=' },
  decode: decodeKeySignRequest,
  response: {
    type: 'object',
    fields: {
      version: { schema: KEY_VERSION },
      signature: { schema: { type: 'string' }, summary: 'base64; armored detached signature for OpenPGP.' },
    },
  },
};

export const KEY_VERIFY: RouteSpec<KeyVerifyRequest, DecodedKeyVerifyRequest, KeyVerifyResponse> = {
  ...KEY_COMMON,
  name: 'key.verify',
  effect: 'read',
  summary: 'Verify a signature against every version of a key that is not retired.',
  path: URL_KEYS_VERIFY,
  action: ACTION_DEFAULT,
  callers: 'Pilot superuser, `verify` on the key name',
  request: {
    type: 'object',
    fields: {
      name: KEY_NAME,
      message: { schema: base64 },
      signature: { schema: { type: 'string' }, summary: 'As key.sign returns it.' },
    },
  },
  example: { name: 'release/signing', message: 'aGVsbG8=', signature: 'AAAA' },
  decode: decodeKeyVerifyRequest,
  response: {
    type: 'object',
    fields: { valid: { schema: { type: 'boolean' } }, version: { schema: KEY_VERSION } },
  },
};

export const KEY_DECRYPT: RouteSpec<KeyDecryptRequest, KeyDecryptRequest, KeyDecryptResponse> = {
  ...KEY_COMMON,
  name: 'key.decrypt',
  effect: 'read',
  summary: 'Decrypt a ciphertext made with the public key of a backup key (any version not retired).',
  path: URL_KEYS_DECRYPT,
  action: ACTION_DEFAULT,
  // Using a grant marks it used (a store write); see ADR 0042.
  errors: [...KEY_ERRORS, ErrorCode.ApprovalRequired],
  callers: 'Pilot superuser, `decrypt` on the key name',
  request: {
    type: 'object',
    fields: {
      name: KEY_NAME,
      ciphertext: { schema: { type: 'string' }, summary: 'base64 RSA-OAEP output, or an OpenPGP message.' },
    },
  },
  example: { name: 'backup/main', ciphertext: 'AAAA' },
  decode: decodeKeyDecryptRequest,
  response: {
    type: 'object',
    fields: { version: { schema: KEY_VERSION }, plaintext: { schema: base64 } },
  },
};

const KEY_ROUTE_SPECS = [
  KEY_CREATE,
  KEY_LIST,
  KEY_PUBLIC,
  KEY_ROTATE,
  KEY_RETIRE,
  KEY_SIGN,
  KEY_VERIFY,
  KEY_DECRYPT,
] as const;

// --- approvals (ours; approvals.ts, ADR 0042) ---------------------------------------------------

const APPROVAL_ID = {
  schema: { type: 'string', minLength: 22, maxLength: APPROVAL_MAX_ID_LENGTH },
  summary: 'A request id (url-safe).',
} as const;
const APPROVAL_VOTES = {
  schema: {
    type: 'array',
    items: {
      type: 'object',
      fields: {
        principal: { schema: { type: 'string' }, summary: '`user:<name>` of the approver.' },
        at: { schema: dateTime },
        comment: { schema: { type: 'string' }, optional: true },
      },
    },
  },
} as const;
const APPROVAL_VIEW = {
  type: 'object',
  fields: {
    id: { schema: { type: 'string' } },
    requester: { schema: { type: 'string' }, summary: 'SPIFFE ID or `user:<name>`.' },
    requesterKind: { schema: { type: 'string', enum: ['workload', 'person'] } },
    operation: { schema: { type: 'string', enum: APPROVAL_OPERATIONS } },
    target: { schema: { type: 'string' }, summary: "Secret path or key name; '' for a policy change." },
    reason: { schema: { type: 'string' } },
    status: { schema: { type: 'string', enum: APPROVAL_STATUSES } },
    required: { schema: { type: 'integer', minimum: 1 } },
    approvals: APPROVAL_VOTES,
    denials: APPROVAL_VOTES,
    createdAt: { schema: dateTime },
    expiresAt: { schema: dateTime, summary: 'When a pending request expires.' },
    grantExpiresAt: {
      schema: dateTime,
      optional: true,
      summary: 'Once approved: the grant is usable until then.',
    },
    usedAt: { schema: dateTime, optional: true, summary: 'Once used: when.' },
  },
} as const;
const APPROVAL_ONE = {
  type: 'object',
  fields: { request: { schema: APPROVAL_VIEW, nullable: true } },
} as const;
const APPROVAL_COMMON = {
  server: 'nexus',
  origin: 'ours',
  method: 'POST',
  path: URL_APPROVALS,
  errorField: 'err',
  errorBody: {},
} as const;
/** Approval state lives in the store: every action may meet a lost COMMIT answer on a shared database. */
const APPROVAL_WRITE_ERRORS = [...NEXUS_WRITE, ErrorCode.NotFound] as const;

export const APPROVAL_REQUEST: RouteSpec<ApprovalFileRequest, ApprovalFileRequest, ApprovalResponse> = {
  ...APPROVAL_COMMON,
  name: 'approval.request',
  effect: 'write',
  summary: 'File a request for an operation that a policy’s approval rule gates.',
  action: ACTION_REQUEST,
  callers: 'anyone the operation itself is allowed to (authorized as the operation)',
  request: {
    type: 'object',
    fields: {
      operation: { schema: { type: 'string', enum: APPROVAL_OPERATIONS } },
      target: { schema: { type: 'string' }, summary: "Secret path, key name, or '' for `policy`." },
      reason: {
        schema: { type: 'string', maxLength: APPROVAL_MAX_REASON_LENGTH },
        summary: 'Why; approvers read it (1..1000 characters).',
      },
    },
  },
  example: { operation: 'read', target: 'cloud/master', reason: 'rotate the cloud root credentials' },
  decode: decodeApprovalFileRequest,
  response: APPROVAL_ONE,
  errors: NEXUS_WRITE,
};

const decideSpec = (
  name: string,
  summary: string,
  action: Action,
): RouteSpec<ApprovalDecideRequest, ApprovalDecideRequest, ApprovalResponse> => ({
  ...APPROVAL_COMMON,
  name,
  effect: 'write',
  summary,
  action,
  callers: 'people a matching approval rule names (never the requester)',
  request: {
    type: 'object',
    fields: {
      id: APPROVAL_ID,
      comment: { schema: { type: 'string', maxLength: APPROVAL_MAX_COMMENT_LENGTH }, optional: true },
    },
  },
  example: { id: 'Vh2lq3ZyQ4m0m3b1W7k1fAbCdEfGhIjKlM', comment: 'ok for the rotation' },
  decode: decodeApprovalDecideRequest,
  response: APPROVAL_ONE,
  errors: APPROVAL_WRITE_ERRORS,
});

export const APPROVAL_APPROVE = decideSpec(
  'approval.approve',
  'Approve a pending request; with enough approvals it becomes a single-use grant.',
  ACTION_APPROVE,
);
export const APPROVAL_DENY = decideSpec('approval.deny', 'Deny a pending request (ends it).', ACTION_DENY);

export const APPROVAL_CANCEL: RouteSpec<ApprovalIdRequest, ApprovalIdRequest, ApprovalResponse> = {
  ...APPROVAL_COMMON,
  name: 'approval.cancel',
  effect: 'write',
  summary: 'Withdraw one’s own pending or approved request.',
  action: ACTION_CANCEL,
  callers: 'the requester',
  request: { type: 'object', fields: { id: APPROVAL_ID } },
  example: { id: 'Vh2lq3ZyQ4m0m3b1W7k1fAbCdEfGhIjKlM' },
  decode: decodeApprovalIdRequest,
  response: APPROVAL_ONE,
  errors: APPROVAL_WRITE_ERRORS,
};

export const APPROVAL_GET: RouteSpec<ApprovalIdRequest, ApprovalIdRequest, ApprovalResponse> = {
  ...APPROVAL_COMMON,
  name: 'approval.get',
  effect: 'read',
  summary: 'One request: its status, approvals and denials.',
  action: ACTION_GET,
  callers: 'the requester, its approvers, admins, auditors and the Pilot superuser',
  request: { type: 'object', fields: { id: APPROVAL_ID } },
  example: { id: 'Vh2lq3ZyQ4m0m3b1W7k1fAbCdEfGhIjKlM' },
  decode: decodeApprovalIdRequest,
  response: APPROVAL_ONE,
  errors: [...NEXUS_GATE, ErrorCode.NotFound],
};

export const APPROVAL_LIST: RouteSpec<
  ApprovalListRequest,
  Required<ApprovalListRequest>,
  ApprovalListResponse
> = {
  ...APPROVAL_COMMON,
  name: 'approval.list',
  effect: 'read',
  summary: 'Requests the caller filed or may approve (admins, auditors, Pilot superuser: all).',
  action: ACTION_LIST,
  callers: 'any verified caller (sees only what concerns it)',
  request: {
    type: 'object',
    fields: {
      status: { schema: { type: 'string', enum: APPROVAL_STATUSES }, optional: true },
      mine: { schema: { type: 'boolean' }, optional: true, summary: 'Only my own requests.' },
      limit: {
        schema: { type: 'integer', minimum: 0, maximum: APPROVAL_LIST_MAX_LIMIT },
        optional: true,
        summary: `0 or absent: ${APPROVAL_LIST_DEFAULT_LIMIT}.`,
      },
    },
  },
  example: { status: 'pending' },
  decode: decodeApprovalListRequest,
  response: {
    type: 'object',
    fields: { requests: { schema: { type: 'array', items: APPROVAL_VIEW }, nullable: true } },
  },
  errors: NEXUS_GATE,
};

const APPROVAL_ROUTE_SPECS = [
  APPROVAL_REQUEST,
  APPROVAL_APPROVE,
  APPROVAL_DENY,
  APPROVAL_CANCEL,
  APPROVAL_GET,
  APPROVAL_LIST,
] as const;

// --- people (ours, ADRs 0035 and 0036) -------------------------------------------------------

export const AUTH_WHOAMI: RouteSpec<WhoamiRequest, WhoamiRequest, WhoamiResponse> = {
  name: 'auth.whoami',
  effect: 'read',
  summary: 'Who the caller is to this Nexus: principal, kind, groups, role and door.',
  server: 'nexus',
  origin: 'ours',
  method: 'POST',
  path: URL_AUTH_WHOAMI,
  action: ACTION_DEFAULT,
  callers: 'any verified caller (workload or person)',
  request: EMPTY_OBJECT,
  example: {},
  decode: decodeWhoamiRequest,
  response: {
    type: 'object',
    fields: {
      principal: { schema: { type: 'string' }, summary: 'SPIFFE ID, or `user:<name>`.' },
      kind: { schema: { type: 'string', enum: ['workload', 'person'] } },
      groups: { schema: { type: 'array', items: { type: 'string' } } },
      role: { schema: { type: 'string' }, summary: 'admin, auditor, user; or the SPIKE role of a workload.' },
      door: { schema: { type: 'string', enum: ['mtls', 'people-api', 'console'] } },
      nexusVersion: { schema: { type: 'string' } },
    },
  },
  errorBody: {},
  errorField: 'err',
  errors: NEXUS_LISTENER,
  allowWhenNotReady: true,
};

const AUDIT_ENTRY = {
  type: 'object',
  fields: {
    time: { schema: dateTime },
    requestId: { schema: { type: 'string' } },
    caller: { schema: { type: 'string' }, nullable: true, summary: 'SPIFFE ID or `user:<name>`.' },
    door: { schema: { type: 'string' }, optional: true },
    principal: { schema: { type: 'string' }, optional: true, summary: 'People only.' },
    groups: { schema: { type: 'array', items: { type: 'string' } }, optional: true, summary: 'People only.' },
    route: { schema: { type: 'string' } },
    action: { schema: { type: 'string' } },
    path: { schema: { type: 'string' }, optional: true },
    policy: { schema: { type: 'string' }, optional: true },
    row: { schema: { type: 'string' }, optional: true },
    decision: { schema: { type: 'string', enum: AUDIT_DECISIONS } },
    status: { schema: { type: 'integer' } },
    err: { schema: { type: 'string' }, optional: true },
    reason: { schema: { type: 'string' }, optional: true, summary: 'Why a token was refused (short code).' },
    durationMs: { schema: { type: 'integer', minimum: 0 } },
  },
} as const;

export const AUDIT_LIST: RouteSpec<AuditListRequest, Required<AuditListRequest>, AuditListResponse> = {
  name: 'audit.list',
  effect: 'read',
  summary: "Query this Nexus's audit file, newest first (bounded).",
  server: 'nexus',
  origin: 'ours',
  method: 'POST',
  path: URL_AUDIT,
  action: ACTION_LIST,
  callers: 'Pilot superuser, people in an admin or auditor group',
  request: {
    type: 'object',
    fields: {
      principal: { schema: { type: 'string' }, optional: true, summary: 'Exact caller.' },
      path: { schema: { type: 'string' }, optional: true, summary: 'Exact secret path.' },
      decision: { schema: { type: 'string' }, optional: true, summary: 'allowed, denied or none.' },
      from: { schema: dateTime, optional: true, summary: 'Inclusive.' },
      to: { schema: dateTime, optional: true, summary: 'Exclusive.' },
      limit: {
        schema: { type: 'integer', minimum: 0, maximum: AUDIT_LIST_MAX_LIMIT },
        optional: true,
        summary: `0 or absent: ${AUDIT_LIST_DEFAULT_LIMIT}.`,
      },
    },
  },
  example: { decision: 'denied', limit: 20 },
  decode: decodeAuditListRequest,
  response: {
    type: 'object',
    fields: {
      records: { schema: { type: 'array', items: AUDIT_ENTRY }, nullable: true },
      truncated: { schema: { type: 'boolean' } },
    },
  },
  errorBody: { records: null, truncated: false },
  errorField: 'err',
  errors: NEXUS_GATE,
};

/** Every Nexus route on the mTLS API, in the order the docs list them. */
export const NEXUS_ROUTE_SPECS: readonly AnyRouteSpec[] = Object.freeze([
  SECRET_PUT,
  SECRET_GET,
  SECRET_DELETE,
  SECRET_UNDELETE,
  SECRET_LIST,
  SECRET_METADATA,
  POLICY_UPSERT,
  POLICY_GET,
  POLICY_DELETE,
  POLICY_LIST,
  CIPHER_ENCRYPT,
  CIPHER_DECRYPT,
  OPERATOR_RECOVER,
  OPERATOR_RESTORE,
  OPERATOR_STATUS,
  BOOTSTRAP_VERIFY,
  DAMAGED_LIST,
  DAMAGED_DELETE,
  ...KEY_ROUTE_SPECS,
  ...APPROVAL_ROUTE_SPECS,
  AUTH_WHOAMI,
  AUDIT_LIST,
  OPERATOR_AUDIT_KEY,
  ROOT_KEY_ROTATE,
  ROOT_KEY_STATUS,
]);

/** Every keeper route. */
export const KEEPER_ROUTE_SPECS: readonly AnyRouteSpec[] = Object.freeze([
  KEEPER_CONTRIBUTE,
  KEEPER_SHARD,
  KEEPER_STATUS,
]);

export const ROUTE_SPECS: readonly AnyRouteSpec[] = Object.freeze([
  ...NEXUS_ROUTE_SPECS,
  ...KEEPER_ROUTE_SPECS,
]);
