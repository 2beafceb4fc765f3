/** The Nexus route table (SPIKE 0.8.2 §3.2, plus our additive routes at the end). */
import { approvalRoutes } from './approvals/approvals.ts';
import { bootstrapVerifyRoute } from './bootstrap/verify.ts';
import { cipherDecryptRoute } from './cipher/decrypt.ts';
import { cipherEncryptRoute } from './cipher/encrypt.ts';
import { damagedListRoute, damagedRemoveRoute } from './damaged/damaged.ts';
import type { RouteDeps } from './deps.ts';
import { keyRoutes } from './keys/keys.ts';
import { operatorAuditKeyRoute } from './operator/audit-key.ts';
import { operatorRecoverRoute } from './operator/recover.ts';
import { auditListRoute } from './people/audit-list.ts';
import { whoamiRoute } from './people/whoami.ts';
import { operatorRestoreRoute } from './operator/restore.ts';
import { rootKeyRotateRoute, rootKeyStatusRoute } from './operator/root-key.ts';
import { operatorStatusRoute } from './operator/status.ts';
import { policyDeleteRoute } from './policy/delete.ts';
import { policyGetRoute } from './policy/get.ts';
import { policyListRoute } from './policy/list.ts';
import { policyUpsertRoute } from './policy/upsert.ts';
import type { Route } from './route.ts';
import { secretDeleteRoute, secretUndeleteRoute } from './secret/delete-undelete.ts';
import { secretGetRoute } from './secret/get.ts';
import { secretListRoute } from './secret/list.ts';
import { secretMetadataRoute } from './secret/metadata.ts';
import { secretPutRoute } from './secret/put.ts';

export function createRoutes(deps: RouteDeps): Route[] {
  return [
    secretPutRoute(deps),
    secretGetRoute(deps),
    secretDeleteRoute(deps),
    secretUndeleteRoute(deps),
    secretListRoute(deps),
    secretMetadataRoute(deps),
    policyUpsertRoute(deps),
    policyGetRoute(deps),
    policyDeleteRoute(deps),
    policyListRoute(deps),
    cipherEncryptRoute(deps),
    cipherDecryptRoute(deps),
    operatorRecoverRoute(deps),
    operatorRestoreRoute(deps),
    operatorStatusRoute(deps),
    bootstrapVerifyRoute(deps),
    // Our additions (not in SPIKE).
    damagedListRoute(deps),
    damagedRemoveRoute(deps),
    ...keyRoutes(deps),
    ...approvalRoutes(deps),
    whoamiRoute(deps),
    auditListRoute(deps),
    operatorAuditKeyRoute(deps),
    rootKeyRotateRoute(deps),
    rootKeyStatusRoute(deps),
  ];
}
