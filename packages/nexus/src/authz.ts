/**
 * Route authorization (SPIKE 0.8.2 §5.2, evaluated in this order) for workloads:
 * - Pilot superuser: every secret, policy and cipher route (never recover, restore or verify);
 * - lite workload: cipher routes only; secret and policy routes are denied outright;
 * - everyone else: one policy of the compiled engine must grant the permission on the path.
 * Recover, restore and bootstrap verify are hard-wired to their role IDs; so is our damaged-row
 * route (the Pilot superuser only: no policy can grant it). Named keys (ours) are authorized like
 * secret paths, on the key name, with the permissions `write`, `read`, `sign`, `verify`, `decrypt`.
 *
 * People (ADR 0036) are evaluated by the people fields of policies, never by SPIFFE ID patterns:
 * - admin (a configured admin group): what the Pilot superuser may do, except reading a value on a
 *   workloads-only path;
 * - auditor: list paths and keys, read metadata, policies and public keys, query the audit log,
 *   see the status; never a value (whatever a policy says); other permissions only as policies
 *   grant them;
 * - user: what one policy naming the person or one of their groups grants; never a value on a
 *   workloads-only path.
 * Recover, restore and bootstrap verify are never open to people.
 */
import type { Permission } from '@spike-ts/protocol';
import {
  SYSTEM_PATH_ACL,
  SYSTEM_PATH_CIPHER_EXEC,
  SYSTEM_PATH_KEYS,
  SYSTEM_PATH_SECRET,
} from '@spike-ts/protocol';
import type { Caller, PersonCaller, PolicyEngine } from '@spike-ts/core';
import {
  isBootstrap,
  isLiteWorkload,
  isPilotRecover,
  isPilotRestore,
  isPilotSuperuser,
  type TrustRoots,
} from '@spike-ts/identity';

export interface Authorizer {
  /** Secret put/delete/undelete (`write`) and metadata (`read`) on `path`. */
  secret(caller: Caller, permission: 'read' | 'write', path: string): boolean;
  /** Secret get: `read` on `path`, and for people the value rules (auditors, workloads-only). */
  secretValue(caller: Caller, path: string): boolean;
  /** Secret list: `list` on `spike/system/secret`. */
  secretList(caller: Caller): boolean;
  /** Policy routes: `permission` on `spike/system/acl`. */
  policy(caller: Caller, permission: 'read' | 'write' | 'list'): boolean;
  /** Cipher encrypt/decrypt: `execute` on `spike/system/cipher/exec`. */
  cipher(caller: Caller): boolean;
  /** Listing and removing damaged store rows (our addition): the Pilot superuser and admins. */
  damagedRows(caller: Caller): boolean;
  recover(caller: Caller): boolean;
  restore(caller: Caller): boolean;
  bootstrapVerify(caller: Caller): boolean;
  /** Our operator status route: the Pilot superuser, admins and auditors. */
  status(caller: Caller): boolean;
  /** Whether any decision for this caller may consult the policies (false for the fixed roles). */
  usesPolicies(caller: Caller): boolean;
  /** Named keys (ours): `permission` on the key name, as for a secret path. */
  key(caller: Caller, permission: 'read' | 'write' | 'sign' | 'verify' | 'decrypt', name: string): boolean;
  /** The key list (ours): `list` on `spike/system/keys`. */
  keyList(caller: Caller): boolean;
  /** The audit query: the Pilot superuser, admins and auditors. */
  auditList(caller: Caller): boolean;
}

export function createAuthorizer(trustRoots: TrustRoots, engine: PolicyEngine): Authorizer {
  const superuser = (caller: Caller): boolean =>
    caller.kind === 'workload' ? isPilotSuperuser(caller.spiffeId, trustRoots) : caller.role === 'admin';
  const personPolicy = (person: PersonCaller, permission: Permission, path: string): boolean =>
    engine.checkPerson(person.principal, person.groups, path, [permission]).allowed;
  const adminRoute = (caller: Caller, permission: Permission, path: string): boolean => {
    if (caller.kind === 'person') return caller.role === 'admin' || personPolicy(caller, permission, path);
    const peerId = caller.spiffeId;
    if (isPilotSuperuser(peerId, trustRoots)) return true;
    if (isLiteWorkload(peerId, trustRoots)) return false;
    return engine.check(peerId, path, [permission]).allowed;
  };
  /** Auditors may read what is not a value: metadata, paths, policies, public keys. */
  const auditorReads = (caller: Caller): boolean => caller.kind === 'person' && caller.role === 'auditor';
  const workloadOnly = (role: (peerId: string, roots: TrustRoots) => boolean) => (caller: Caller) =>
    caller.kind === 'workload' && role(caller.spiffeId, trustRoots);
  return {
    secret: (caller, permission, path) =>
      (permission === 'read' && auditorReads(caller)) || adminRoute(caller, permission, path),
    secretValue: (caller, path) => {
      if (caller.kind === 'person') {
        if (caller.role === 'auditor' || engine.isWorkloadsOnly(path)) return false;
      }
      return adminRoute(caller, 'read', path);
    },
    secretList: (caller) => auditorReads(caller) || adminRoute(caller, 'list', SYSTEM_PATH_SECRET),
    policy: (caller, permission) =>
      (permission !== 'write' && auditorReads(caller)) || adminRoute(caller, permission, SYSTEM_PATH_ACL),
    cipher: (caller) => {
      if (caller.kind === 'person')
        return caller.role === 'admin' || personPolicy(caller, 'execute', SYSTEM_PATH_CIPHER_EXEC);
      const peerId = caller.spiffeId;
      if (isPilotSuperuser(peerId, trustRoots) || isLiteWorkload(peerId, trustRoots)) return true;
      return engine.check(peerId, SYSTEM_PATH_CIPHER_EXEC, ['execute']).allowed;
    },
    damagedRows: (caller) => superuser(caller),
    recover: workloadOnly(isPilotRecover),
    restore: workloadOnly(isPilotRestore),
    bootstrapVerify: workloadOnly(isBootstrap),
    status: (caller) => superuser(caller) || auditorReads(caller),
    // People always may: even admins are checked against workloads-only policies.
    usesPolicies: (caller) => {
      if (caller.kind === 'person') return true;
      const peerId = caller.spiffeId;
      return !(
        isPilotSuperuser(peerId, trustRoots) ||
        isLiteWorkload(peerId, trustRoots) ||
        isPilotRecover(peerId, trustRoots) ||
        isPilotRestore(peerId, trustRoots) ||
        isBootstrap(peerId, trustRoots)
      );
    },
    key: (caller, permission, name) =>
      (permission === 'read' && auditorReads(caller)) || adminRoute(caller, permission, name),
    keyList: (caller) => auditorReads(caller) || adminRoute(caller, 'list', SYSTEM_PATH_KEYS),
    auditList: (caller) => superuser(caller) || auditorReads(caller),
  };
}
