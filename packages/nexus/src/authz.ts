/**
 * Route authorization (SPIKE 0.8.2 §5.2, evaluated in this order):
 * - Pilot superuser: every secret, policy and cipher route (never recover, restore or verify);
 * - lite workload: cipher routes only; secret and policy routes are denied outright;
 * - everyone else: one policy of the compiled engine must grant the permission on the path.
 * Recover, restore and bootstrap verify are hard-wired to their role IDs; so is our damaged-row
 * route (the Pilot superuser only: no policy can grant it). Named keys (ours) are authorized like
 * secret paths, on the key name, with the permissions `write`, `read`, `sign`, `verify`, `decrypt`.
 */
import type { Permission } from '@spike-ts/protocol';
import {
  SYSTEM_PATH_ACL,
  SYSTEM_PATH_CIPHER_EXEC,
  SYSTEM_PATH_KEYS,
  SYSTEM_PATH_SECRET,
} from '@spike-ts/protocol';
import type { PolicyEngine } from '@spike-ts/core';
import {
  isBootstrap,
  isLiteWorkload,
  isPilotRecover,
  isPilotRestore,
  isPilotSuperuser,
  type TrustRoots,
} from '@spike-ts/identity';

export interface Authorizer {
  /** Secret put/delete/undelete (`write`) and get/metadata (`read`) on `path`. */
  secret(peerId: string, permission: 'read' | 'write', path: string): boolean;
  /** Secret list: `list` on `spike/system/secret`. */
  secretList(peerId: string): boolean;
  /** Policy routes: `permission` on `spike/system/acl`. */
  policy(peerId: string, permission: 'read' | 'write' | 'list'): boolean;
  /** Cipher encrypt/decrypt: `execute` on `spike/system/cipher/exec`. */
  cipher(peerId: string): boolean;
  /** Listing and removing damaged store rows (our addition): the Pilot superuser only. */
  damagedRows(peerId: string): boolean;
  recover(peerId: string): boolean;
  restore(peerId: string): boolean;
  bootstrapVerify(peerId: string): boolean;
  /** Our operator status route: the Pilot superuser only. */
  status(peerId: string): boolean;
  /** Whether any decision for this caller may consult the policies (false for the fixed roles). */
  usesPolicies(peerId: string): boolean;
  /** Named keys (ours): `permission` on the key name, as for a secret path. */
  key(peerId: string, permission: 'read' | 'write' | 'sign' | 'verify' | 'decrypt', name: string): boolean;
  /** The key list (ours): `list` on `spike/system/keys`. */
  keyList(peerId: string): boolean;
}

export function createAuthorizer(trustRoots: TrustRoots, engine: PolicyEngine): Authorizer {
  const viaPolicy = (peerId: string, permission: Permission, path: string): boolean =>
    engine.check(peerId, path, [permission]).allowed;
  const adminRoute = (peerId: string, permission: Permission, path: string): boolean => {
    if (isPilotSuperuser(peerId, trustRoots)) return true;
    if (isLiteWorkload(peerId, trustRoots)) return false;
    return viaPolicy(peerId, permission, path);
  };
  return {
    secret: (peerId, permission, path) => adminRoute(peerId, permission, path),
    secretList: (peerId) => adminRoute(peerId, 'list', SYSTEM_PATH_SECRET),
    policy: (peerId, permission) => adminRoute(peerId, permission, SYSTEM_PATH_ACL),
    cipher: (peerId) => {
      if (isPilotSuperuser(peerId, trustRoots) || isLiteWorkload(peerId, trustRoots)) return true;
      return viaPolicy(peerId, 'execute', SYSTEM_PATH_CIPHER_EXEC);
    },
    damagedRows: (peerId) => isPilotSuperuser(peerId, trustRoots),
    recover: (peerId) => isPilotRecover(peerId, trustRoots),
    restore: (peerId) => isPilotRestore(peerId, trustRoots),
    bootstrapVerify: (peerId) => isBootstrap(peerId, trustRoots),
    status: (peerId) => isPilotSuperuser(peerId, trustRoots),
    usesPolicies: (peerId) =>
      !(
        isPilotSuperuser(peerId, trustRoots) ||
        isLiteWorkload(peerId, trustRoots) ||
        isPilotRecover(peerId, trustRoots) ||
        isPilotRestore(peerId, trustRoots) ||
        isBootstrap(peerId, trustRoots)
      ),
    key: (peerId, permission, name) => adminRoute(peerId, permission, name),
    keyList: (peerId) => adminRoute(peerId, 'list', SYSTEM_PATH_KEYS),
  };
}
