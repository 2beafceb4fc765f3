/**
 * Root-key custody for Nexus: the implementation of the `Custody` port.
 */
import type { CustodyFactory } from '../custody-port.ts';
import { createCustodyWith } from './custody.ts';
import { createKeeperClient } from './mtls-keeper-client.ts';

export const createCustody: CustodyFactory = (deps) =>
  createCustodyWith(deps, {
    keeperClient: createKeeperClient({
      source: deps.source,
      trustRoots: deps.config.trustRoots,
      logger: deps.logger.child({ component: 'keeper-client' }),
    }),
  });

export {
  createCustodyWith,
  RECOVERY_INITIAL_DELAY_MS,
  RECOVERY_MAX_DELAY_MS,
  type CustodyOptions,
} from './custody.ts';
export { findRootKey, combinations, MAX_COMBINATIONS, type FindRootKeyResult } from './find-root-key.ts';
export {
  createKeeperClientWith,
  KeeperRequestError,
  type FetchShardResult,
  type KeeperClient,
  type KeeperPost,
} from './keeper-client.ts';
export { createKeeperClient, type MtlsKeeperClientOptions } from './mtls-keeper-client.ts';
export { createKeeperSync, type KeeperSync, type KeeperSyncOptions } from './keeper-sync.ts';
