/**
 * The keeper server: the keeper API behind SPIFFE mTLS. Only Nexus and Bootstrap peers complete the
 * TLS handshake; the routes then apply their own, narrower rules.
 */
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@spike-ts/core';
import {
  createMtlsServer,
  getPeerSpiffeId,
  isBootstrap,
  isKeeper,
  isNexus,
  type TrustRoots,
  type X509Source,
} from '@spike-ts/identity';
import { createKeeperHandler, type KeeperPeerRoles } from './keeper-handler.ts';
import { createShardHolder, type ShardHolder } from './shard-holder.ts';

export interface KeeperServerOptions {
  source: X509Source;
  trustRoots: TrustRoots;
  logger: Logger;
  /** Defaults to a fresh, empty holder. */
  holder?: ShardHolder;
  maxBodyBytes?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Connections held at once, handshaking or not (default 256: only Nexus and Bootstrap call). */
  maxConnections?: number;
}

export interface KeeperServer {
  readonly server: Server;
  readonly holder: ShardHolder;
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, drops open connections and zeroes the share. */
  close(): Promise<void>;
}

export class KeeperIdentityError extends Error {
  override readonly name = 'KeeperIdentityError';
}

export function createKeeperServer(options: KeeperServerOptions): KeeperServer {
  const { source, trustRoots, logger } = options;
  const ownId = source.getX509Svid().spiffeId;
  if (!isKeeper(ownId, trustRoots)) {
    throw new KeeperIdentityError(
      `this process's SPIFFE ID ${ownId} is not a SPIKE Keeper ID (expected spiffe://<trust root>/spike/keeper; check SPIKE_TRUST_ROOT_KEEPER)`,
    );
  }
  const roles: KeeperPeerRoles = {
    isNexus: (id) => isNexus(id, trustRoots),
    isBootstrap: (id) => isBootstrap(id, trustRoots),
  };
  const holder = options.holder ?? createShardHolder();
  const handler = createKeeperHandler({
    holder,
    roles,
    logger,
    peerId: (req) => getPeerSpiffeId(req)?.toString(),
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
  });
  const server = createMtlsServer(
    source,
    {
      authorizePeer: (id) => roles.isNexus(id.toString()) || roles.isBootstrap(id.toString()),
      headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
      maxConnections: options.maxConnections ?? 256,
      logger,
    },
    handler,
  );

  return {
    server,
    holder,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      holder.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
