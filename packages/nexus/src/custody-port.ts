/**
 * The seam between the server and root-key custody (keeper client, recovery from keepers,
 * periodic shard pushes, operator recover/restore). The server only calls these methods; the
 * implementation lives in `./custody/`.
 */
import type { Logger } from '@spike-ts/core';
import type { X509Source } from '@spike-ts/identity';
import type { NexusConfig } from './config.ts';
import type { NexusState } from './state.ts';

export interface RestoreResult {
  readonly collected: number;
  readonly remaining: number;
  readonly restored: boolean;
}

export interface KeeperState {
  readonly url: string;
  /** `ok` holds its share, `reseeded` was given it again, `unreachable`, `unknown` not checked yet. */
  readonly state: 'ok' | 'unreachable' | 'reseeded' | 'unknown';
}

export interface Custody {
  /** POST /v1/operator/recover: all shares as { "1": [32 ints], ... } (needs the root key). */
  recoverShards(): Record<string, number[]>;
  /**
   * POST /v1/operator/restore: one share; returns counts; installs the key when enough.
   * Throws BadRequestError on bad input.
   */
  restoreShard(id: number, shard: Uint8Array): Promise<RestoreResult>;
  /** POST /v1/operator/status: what the last push or heartbeat saw of each keeper. */
  keeperStates?(): readonly KeeperState[];
  /**
   * Make sure every keeper holds its share of the root key now installed (read each, re-seed any
   * that is empty or holds another share); resolves with how many do (ADR 0044: a rotation
   * finishes only once at least the threshold of keepers hold shares of the new key).
   */
  confirmShares?(): Promise<number>;
  /**
   * How to read the root-key generations and follow a rotation made elsewhere: keeper sync runs
   * it before it overwrites a keeper's share of another key (which may be a newer key's).
   */
  followKeyWith?(follow: () => Promise<void>): void;
  /**
   * Begin recovery from keepers (persistent backends) when Nexus has no root key, or keeper sync
   * when it has one. Called again after Nexus dropped its key, it recovers the keepers' key anew.
   */
  start(): void;
  stop(): Promise<void>;
}

export interface CustodyDeps {
  readonly state: NexusState;
  readonly config: NexusConfig;
  readonly source: X509Source;
  readonly logger: Logger;
}

export type CustodyFactory = (deps: CustodyDeps) => Custody;
