/**
 * Hand keeper i (1-based position in SPIKE_NEXUS_KEEPER_PEERS) share i, over
 * `POST /v1/store/contribute`, with SPIKE's per-keeper retry policy. Every keeper must succeed.
 */
import type { Share } from '@spike-ts/core';
import { encodeShardBody, URL_KEEPER_CONTRIBUTE } from '@spike-ts/protocol';
import type { BootstrapConfig } from './config.ts';
import { KeeperUnreachableError } from './errors.ts';
import { retryWithBackoff, type RetryHooks } from './retry.ts';
import { joinUrl, type Post } from './transport.ts';

class PermanentKeeperError extends Error {}

async function contributeOne(
  config: BootstrapConfig,
  post: Post,
  keeperUrl: string,
  share: Share,
  hooks: RetryHooks,
): Promise<Error | undefined> {
  const now = hooks.now ?? Date.now;
  const url = joinUrl(keeperUrl, URL_KEEPER_CONTRIBUTE);
  const body = encodeShardBody(share.value);
  try {
    const outcome = await retryWithBackoff<true>(
      {
        maxAttempts: config.keeperMaxRetries,
        initialDelayMs: config.keeperRetryInitialMs,
        maxDelayMs: config.keeperRetryMaxMs,
        deadline: now() + config.keeperTimeoutMs,
      },
      async (remaining) => {
        let status: number;
        try {
          status = (await post(url, body, Math.min(remaining, config.keeperTimeoutMs))).status;
        } catch (err) {
          return { done: false, error: err instanceof Error ? err : new Error(String(err)) };
        }
        if (status === 200) return { done: true, value: true };
        if (status === 401)
          throw new PermanentKeeperError('the keeper refused this bootstrap identity (401)');
        if (status >= 400 && status < 500)
          throw new PermanentKeeperError(`the keeper rejected the share (HTTP ${status})`);
        return { done: false, error: new Error(`HTTP ${status}`) };
      },
      hooks,
    );
    return outcome.done ? undefined : outcome.error;
  } catch (err) {
    if (err instanceof PermanentKeeperError) return err;
    throw err;
  } finally {
    body.fill(0);
  }
}

export async function distributeShares(
  config: BootstrapConfig,
  postKeeper: Post,
  shares: readonly Share[],
  progress: (line: string) => void,
  hooks: RetryHooks = {},
): Promise<void> {
  const results = await Promise.all(
    config.keeperPeers.map(async (keeperUrl, i) => {
      const share = shares.find((s) => s.id === i + 1);
      if (share === undefined) throw new Error(`no share with id ${i + 1}`);
      const error = await contributeOne(config, postKeeper, keeperUrl, share, hooks);
      progress(
        error === undefined
          ? `  Keeper ${i + 1} ${keeperUrl}: share ${share.id} delivered`
          : `  Keeper ${i + 1} ${keeperUrl}: FAILED (${error.message})`,
      );
      return { keeperUrl, error };
    }),
  );
  const failed = results.filter((r) => r.error !== undefined);
  if (failed.length > 0) {
    const delivered = results.length - failed.length;
    throw new KeeperUnreachableError(
      `could not deliver a share to ${failed.map((f) => `${f.keeperUrl} (${f.error?.message ?? ''})`).join(', ')}. ` +
        `${delivered} of ${results.length} keepers received their share of the new root key. Fix the keeper(s), ` +
        'then run bootstrap again with --force (those keepers now hold shares of a key nobody else has).',
      failed.map((f) => f.keeperUrl),
    );
  }
}
