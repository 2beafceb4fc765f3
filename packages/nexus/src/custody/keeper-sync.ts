/**
 * Keeps every keeper holding its share once Nexus has the root key: an immediate push (which first
 * reads each keeper's share and names a keeper holding a wrong one as suspect, so a foreign share
 * is never overwritten silently), a push every `updateIntervalMs`
 * (SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL), and between pushes a heartbeat
 * every `heartbeatIntervalMs` that reads each keeper's share, compares it in constant time with
 * the expected one, and re-seeds a keeper that came back empty or holds a wrong share.
 * Shares are recomputed from the root key for each run (deterministic) and zeroed afterwards.
 * A keeper's share of another key may be a newer key's (a rotation by another Nexus that this one
 * has not followed yet): before the timed push, and before a heartbeat overwrites such a share,
 * Nexus reads the root-key generations (`beforeOverwrite`); while it holds no key, the timers
 * write nothing.
 */
import { constantTimeEqual, splitRootKey, zeroize, type Logger, type Share } from '@spike-ts/core';
import type { KeeperClient } from './keeper-client.ts';

export interface KeeperSyncOptions {
  readonly keeperPeers: readonly string[];
  readonly threshold: number;
  readonly shares: number;
  readonly updateIntervalMs: number;
  readonly heartbeatIntervalMs: number;
  readonly client: KeeperClient;
  /** Runs `fn` with the installed root key (must not keep it). */
  readonly withRootKey: <T>(fn: (rootKey: Uint8Array) => T) => T;
  /**
   * False while Nexus holds no root key (it dropped one a rotation elsewhere retired and is
   * recovering the new one): the timers' pushes and heartbeats are skipped meanwhile. Default true.
   */
  readonly hasRootKey?: () => boolean;
  /**
   * Runs before the timed push, and before a heartbeat overwrites a keeper's share that is
   * another key's (not an empty keeper): it may be the share of a newer key, pushed by a rotation
   * in another Nexus that this one has not followed yet (it was stopped or cut off). Nexus reads
   * the root-key generations first; afterwards it holds the newer key, or none (`hasRootKey`).
   */
  readonly beforeOverwrite?: () => Promise<void>;
  readonly logger: Logger;
}

export interface KeeperSync {
  /** Push now and start both timers (idempotent). */
  start(): void;
  /** Push every keeper its share now. */
  pushAll(): Promise<void>;
  /** Check every keeper now and re-seed the ones that need it. */
  heartbeat(): Promise<void>;
  /**
   * Read every keeper's share now, re-seed those that are empty or wrong, and resolve with how
   * many hold the current share afterwards (not skipped while a timer's run is in progress).
   */
  confirm(): Promise<number>;
  /** Stop the timers and wait for a run in progress. */
  stop(): Promise<void>;
  /** What the last push or heartbeat saw of each keeper, in SPIKE_NEXUS_KEEPER_PEERS order. */
  keeperHealth(): { url: string; state: KeeperHealth }[];
}

/** What the last push or heartbeat saw of a keeper (`unknown` before the first one). */
export type KeeperHealth = 'ok' | 'unreachable' | 'reseeded' | 'unknown';

/** Logged with the keeper's index and URL whenever a keeper is found holding a wrong share. */
export const SUSPECT_KEEPER_MESSAGE =
  'suspect keeper: it holds a wrong share (not a share of this root key); re-seeding it';

export function createKeeperSync(options: KeeperSyncOptions): KeeperSync {
  const { keeperPeers, client, logger } = options;
  const health = new Map<string, KeeperHealth>(keeperPeers.map((url) => [url, 'unknown']));
  const timers: NodeJS.Timeout[] = [];
  const inFlight = new Set<Promise<void>>();
  let started = false;
  let stopped = false;
  let busy = false;

  function computeShares(): Share[] {
    return options.withRootKey((rootKey) => splitRootKey(rootKey, options.threshold, options.shares));
  }

  function noteUnreachable(url: string, index: number, err: unknown): void {
    if (health.get(url) !== 'unreachable') {
      logger.warn('keeper unreachable', { keeper: index, url, error: (err as Error).message });
    }
    health.set(url, 'unreachable');
  }

  async function forEachKeeper(
    work: (url: string, index: number, share: Share) => Promise<void>,
  ): Promise<void> {
    const shares = computeShares();
    try {
      await Promise.all(
        keeperPeers.map(async (url, i) => {
          const share = shares[i];
          if (share === undefined) return;
          try {
            await work(url, i + 1, share);
          } catch (err) {
            noteUnreachable(url, i + 1, err);
          }
        }),
      );
    } finally {
      zeroize(...shares.map((s) => s.value));
    }
  }

  async function pushOne(url: string, index: number, share: Share): Promise<void> {
    await client.contribute(url, share.value);
    if (health.get(url) !== 'ok') logger.info('keeper holds its share', { keeper: index, url });
    health.set(url, 'ok');
  }

  /**
   * Follows the store first (`beforeOverwrite`); false when this Nexus then holds no key and must
   * not write any share.
   */
  async function mayOverwrite(): Promise<boolean> {
    await options.beforeOverwrite?.();
    return options.hasRootKey?.() !== false;
  }

  /** The timed push overwrites without reading: it follows the store first, every time. */
  async function pushAll(): Promise<void> {
    if (await mayOverwrite()) await forEachKeeper(pushOne);
  }

  /** The first push: report a keeper holding a wrong share before overwriting it (best effort). */
  async function checkAndPushAll(): Promise<void> {
    await forEachKeeper(async (url, index, share) => {
      const got = await client.fetchShard(url).catch(() => undefined);
      if (got?.kind === 'shard') {
        const matches = constantTimeEqual(got.shard, share.value);
        zeroize(got.shard);
        if (!matches) logger.warn(SUSPECT_KEEPER_MESSAGE, { keeper: index, url });
      }
      await pushOne(url, index, share);
    });
  }

  /**
   * Reads every keeper's share and re-seeds a keeper that came back empty, and one holding another
   * share when `reseedOthers`; resolves with how many hold another share and were left alone.
   */
  async function checkKeepers(reseedOthers: boolean): Promise<number> {
    let others = 0;
    await forEachKeeper(async (url, index, share) => {
      const got = await client.fetchShard(url);
      let matches = false;
      if (got.kind === 'shard') {
        matches = constantTimeEqual(got.shard, share.value);
        zeroize(got.shard);
      }
      if (matches) {
        health.set(url, 'ok');
        return;
      }
      if (got.kind === 'shard' && !reseedOthers) {
        others++;
        return;
      }
      logger.warn(
        got.kind === 'empty' ? 'keeper holds no share (restarted?); re-seeding it' : SUSPECT_KEEPER_MESSAGE,
        { keeper: index, url },
      );
      await client.contribute(url, share.value);
      health.set(url, 'reseeded');
    });
    return others;
  }

  async function heartbeat(): Promise<void> {
    if ((await checkKeepers(false)) > 0 && (await mayOverwrite())) await checkKeepers(true);
  }

  /** Run one job unless another is in progress or we are stopping. */
  function run(job: () => Promise<void>): Promise<void> {
    if (stopped || busy || options.hasRootKey?.() === false) return Promise.resolve();
    busy = true;
    const p = job()
      .catch((err: unknown) => logger.error('keeper sync failed', { error: err }))
      .finally(() => {
        busy = false;
        inFlight.delete(p);
      });
    inFlight.add(p);
    return p;
  }

  return {
    keeperHealth: () => keeperPeers.map((url) => ({ url, state: health.get(url) ?? 'unknown' })),
    start() {
      if (started || stopped) return;
      started = true;
      void run(checkAndPushAll);
      const push = setInterval(() => void run(pushAll), options.updateIntervalMs);
      const beat = setInterval(() => void run(heartbeat), options.heartbeatIntervalMs);
      push.unref();
      beat.unref();
      timers.push(push, beat);
    },
    pushAll: () => run(pushAll),
    async confirm() {
      if (stopped) return 0;
      let holding = 0;
      await forEachKeeper(async (url, index, share) => {
        const got = await client.fetchShard(url);
        let matches = false;
        if (got.kind === 'shard') {
          matches = constantTimeEqual(got.shard, share.value);
          zeroize(got.shard);
        }
        if (!matches) await client.contribute(url, share.value);
        if (health.get(url) !== 'ok') logger.info('keeper holds its share', { keeper: index, url });
        health.set(url, 'ok');
        holding++;
      });
      return holding;
    },
    heartbeat: () => run(heartbeat),
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      timers.length = 0;
      await Promise.allSettled([...inFlight]);
    },
  };
}
