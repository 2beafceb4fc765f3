/**
 * SPIKE 0.8.2 route table (wire contract). Every route is `POST <path>[?action=<action>]`.
 * Anything else (other method, unknown path, unknown action, trailing slash) is answered with
 * 400 `api_bad_request`.
 */
export const URL_SECRETS = '/v1/store/secrets';
export const URL_SECRETS_METADATA = '/v1/store/secrets/metadata';
export const URL_POLICY = '/v1/acl/policy';
export const URL_CIPHER_ENCRYPT = '/v1/cipher/encrypt';
export const URL_CIPHER_DECRYPT = '/v1/cipher/decrypt';
export const URL_OPERATOR_RECOVER = '/v1/operator/recover';
export const URL_OPERATOR_RESTORE = '/v1/operator/restore';
export const URL_BOOTSTRAP_VERIFY = '/v1/bootstrap/verify';
/**
 * Our additive operator route (not in SPIKE; Pilot superuser only): `?action=list` lists the
 * store's damaged rows, `?action=delete` removes one.
 */
export const URL_OPERATOR_DAMAGED = '/v1/operator/damaged';
/** Keeper routes. */
export const URL_KEEPER_CONTRIBUTE = '/v1/store/contribute';
export const URL_KEEPER_SHARD = '/v1/store/shard';
/** Our additive keeper probe (not in SPIKE): `{}` -> `{"hasShard":bool}`, never the share itself. */
export const URL_KEEPER_STATUS = '/v1/keeper/status';
/**
 * Our additive operator status (not in SPIKE): `{}` -> version, readiness, root-key state and
 * what Nexus last saw of each keeper; Pilot superuser only, answered while not ready too.
 */
export const URL_OPERATOR_STATUS = '/v1/operator/status';
/** Ours (ADR 0035): who the caller is, on both doors. */
export const URL_AUTH_WHOAMI = '/v1/auth/whoami';
/** Ours: `?action=list` queries this Nexus's audit file (Pilot superuser, admins, auditors). */
export const URL_AUDIT = '/v1/audit';
/**
 * Our additive audit key route (not in SPIKE; Pilot superuser only): `{}` -> the public key that
 * verifies the audit checkpoints and the last checkpoint written (ADR 0040).
 */
export const URL_OPERATOR_AUDIT_KEY = '/v1/operator/audit-key';
/** Our additive routes (not in SPIKE); plain HTTP GET allowed, no SVID needed. */
export const URL_HEALTH = '/healthz';
export const URL_READY = '/readyz';

/** `?action=` values. The empty string is the default action (put/create/upsert). */
export type Action = '' | 'get' | 'delete' | 'undelete' | 'list' | ApprovalAction;
/** Ours (ADR 0042): the actions of `/v1/approvals` beyond `get` and `list`. */
export type ApprovalAction = 'request' | 'approve' | 'deny' | 'cancel';

export const ACTION_DEFAULT: Action = '';
export const ACTION_GET: Action = 'get';
export const ACTION_DELETE: Action = 'delete';
export const ACTION_UNDELETE: Action = 'undelete';
export const ACTION_LIST: Action = 'list';
export const ACTION_REQUEST: Action = 'request';
export const ACTION_APPROVE: Action = 'approve';
export const ACTION_DENY: Action = 'deny';
export const ACTION_CANCEL: Action = 'cancel';
/** Every `?action=` value a route of Nexus answers (others: 400). */
export const ACTIONS: readonly Action[] = Object.freeze([
  '',
  'get',
  'delete',
  'undelete',
  'list',
  'request',
  'approve',
  'deny',
  'cancel',
]);

/**
 * Joins a base URL (which may carry a path prefix and trailing slashes) and an API path — the one
 * place every client (SDK, Nexus's keeper client, bootstrap) builds a route's URL.
 */
export function joinUrl(base: string, path: string): string {
  let end = base.length;
  while (end > 0 && base.charCodeAt(end - 1) === 0x2f /* '/' */) end -= 1;
  return base.slice(0, end) + path;
}

/** Content type that switches the cipher routes to stream mode. */
export const CONTENT_TYPE_OCTET_STREAM = 'application/octet-stream';
export const CONTENT_TYPE_JSON = 'application/json';

/** Response headers SPIKE sends with every JSON response. */
export const NO_CACHE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store, no-cache, must-revalidate, private',
  Pragma: 'no-cache',
  Expires: '0',
});

/** Reserved system paths (SPIKE ADR-0033). */
export const SYSTEM_PATH_ACL = 'spike/system/acl';
export const SYSTEM_PATH_SECRET = 'spike/system/secret';
export const SYSTEM_PATH_CIPHER_EXEC = 'spike/system/cipher/exec';
export const RESERVED_SYSTEM_PATHS: readonly string[] = Object.freeze([
  SYSTEM_PATH_ACL,
  SYSTEM_PATH_SECRET,
  SYSTEM_PATH_CIPHER_EXEC,
]);

/** Default listen ports. */
export const DEFAULT_NEXUS_PORT = 8553;
export const DEFAULT_KEEPER_PORT = 8443;
export const DEFAULT_NEXUS_API_URL = 'https://localhost:8553';
