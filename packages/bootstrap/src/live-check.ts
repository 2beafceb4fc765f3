/**
 * The safety check SPIKE lacks: before any keeper is touched, find out whether a SPIKE system is
 * already live, and refuse to replace its root key unless forced.
 *
 * What can be detected, with a bootstrap identity that may only contribute shares:
 * - Nexus holds a root key: `POST /v1/bootstrap/verify` (bootstrap may call it) with a random,
 *   undecryptable ciphertext. A Nexus without a root key answers 503 `state_not_ready`; one with a
 *   key tries to decrypt and answers 500 (SPIKE's Nexus and ours alike). 500 or 200 => live.
 * - A keeper already holds a share: our keepers answer the additive read-only probe
 *   `POST /v1/keeper/status` with `{"hasShard":bool}` (never the share). SPIKE's Go keepers do
 *   not have it (400): for them this cannot be known, and a warning is printed.
 * With several Nexus URLs (replicas on one database) every one is asked; any live one refuses.
 * Not detectable: a Nexus that is down (or not ready) whose database was initialized, while its
 * keepers are empty or are SPIKE's. Our Nexus still never accepts a different key (key-check
 * value), so such a mistake is not silent; the operator's recovery shards restore the old key.
 */
import { randomBytes } from '@spike-ts/core';
import { URL_BOOTSTRAP_VERIFY, URL_KEEPER_STATUS } from '@spike-ts/protocol';
import type { BootstrapConfig } from './config.ts';
import { BootstrapError, BootstrapRefusedError, KeeperUnreachableError } from './errors.ts';
import { retryWithBackoff, type RetryHooks } from './retry.ts';
import { joinUrl, type Post, type PostResult } from './transport.ts';

export type NexusState = 'has-root-key' | 'not-ready' | 'unreachable' | 'unexpected';
export type KeeperState = 'has-shard' | 'empty' | 'unknown';

export interface LiveCheckReport {
  readonly nexus: { readonly state: NexusState; readonly status?: number };
  readonly keepers: readonly { readonly url: string; readonly state: KeeperState }[];
}

/** A well-formed verify request no key can open (random nonce and random "ciphertext"). */
export function garbageVerifyBody(): Buffer {
  const nonce = Buffer.from(randomBytes(12)).toString('base64');
  const ciphertext = Buffer.from(randomBytes(48)).toString('base64');
  return Buffer.from(JSON.stringify({ nonce, ciphertext }));
}

async function postWithRetry(
  config: BootstrapConfig,
  post: Post,
  url: string,
  body: Uint8Array,
  hooks: RetryHooks,
): Promise<PostResult | Error> {
  const now = hooks.now ?? Date.now;
  const outcome = await retryWithBackoff(
    {
      maxAttempts: config.keeperMaxRetries,
      initialDelayMs: config.keeperRetryInitialMs,
      maxDelayMs: config.keeperRetryMaxMs,
      deadline: now() + config.keeperTimeoutMs,
    },
    async (remaining) => {
      try {
        return { done: true, value: await post(url, body, Math.min(remaining, config.keeperTimeoutMs)) };
      } catch (err) {
        return { done: false, error: err instanceof Error ? err : new Error(String(err)) };
      }
    },
    hooks,
  );
  return outcome.done ? outcome.value : outcome.error;
}

/** Every Nexus URL of the configuration (`SPIKE_NEXUS_API_URL` may list replicas). */
export function nexusUrlsOf(config: BootstrapConfig): readonly string[] {
  return config.nexusApiUrls ?? [config.nexusApiUrl];
}

export async function probeNexus(
  config: BootstrapConfig,
  postNexus: Post,
  hooks: RetryHooks = {},
  nexusUrl: string = config.nexusApiUrl,
): Promise<LiveCheckReport['nexus']> {
  const url = joinUrl(nexusUrl, URL_BOOTSTRAP_VERIFY);
  const res = await postWithRetry(config, postNexus, url, garbageVerifyBody(), hooks);
  if (res instanceof Error) return { state: 'unreachable' };
  if (res.status === 401) {
    throw new BootstrapError(
      `SPIKE Nexus (${nexusUrl}) refused this bootstrap identity (401): check its SPIKE_TRUST_ROOT_BOOTSTRAP ` +
        'and that this process runs with a spiffe://<trust root>/spike/bootstrap SVID',
    );
  }
  if (res.status === 503) return { state: 'not-ready', status: res.status };
  if (res.status === 500 || res.status === 200) return { state: 'has-root-key', status: res.status };
  return { state: 'unexpected', status: res.status };
}

export async function probeKeeper(
  config: BootstrapConfig,
  postKeeper: Post,
  keeperUrl: string,
  hooks: RetryHooks = {},
): Promise<KeeperState> {
  const res = await postWithRetry(
    config,
    postKeeper,
    joinUrl(keeperUrl, URL_KEEPER_STATUS),
    Buffer.from('{}'),
    hooks,
  );
  if (res instanceof Error) {
    throw new KeeperUnreachableError(
      `SPIKE Keeper ${keeperUrl} is unreachable (${res.message}); no keeper was changed. ` +
        'Start every keeper listed in SPIKE_NEXUS_KEEPER_PEERS and run bootstrap again.',
      [keeperUrl],
    );
  }
  if (res.status === 401) {
    throw new BootstrapError(
      `SPIKE Keeper ${keeperUrl} refused this bootstrap identity (401); no keeper was changed.`,
    );
  }
  if (res.status !== 200) return 'unknown';
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { hasShard?: unknown };
    if (parsed.hasShard === true) return 'has-shard';
    if (parsed.hasShard === false) return 'empty';
  } catch {
    // not our keeper's answer
  }
  return 'unknown';
}

/**
 * Probe Nexus and every keeper; throw `BootstrapRefusedError` when the system is live. Keepers
 * that cannot be reached fail the run here, before anything was changed.
 */
export async function checkLiveSystem(
  config: BootstrapConfig,
  transport: { postNexus: Post; postKeeper: Post },
  progress: (line: string) => void,
  hooks: RetryHooks = {},
): Promise<LiveCheckReport> {
  // Several Nexus URLs (replicas on one database): each is asked; any live one refuses the run.
  const nexusUrls = nexusUrlsOf(config);
  const [nexusStates, keeperStates] = await Promise.all([
    Promise.all(nexusUrls.map((url) => probeNexus(config, transport.postNexus, hooks, url))),
    Promise.all(config.keeperPeers.map((url) => probeKeeper(config, transport.postKeeper, url, hooks))),
  ]);
  const rank: Record<NexusState, number> = {
    'has-root-key': 3,
    unexpected: 2,
    'not-ready': 1,
    unreachable: 0,
  };
  const nexus = nexusStates.reduce((a, b) => (rank[b.state] > rank[a.state] ? b : a));
  const keepers = config.keeperPeers.map((url, i) => ({
    url,
    state: keeperStates[i] ?? ('unknown' as const),
  }));

  const nexusText: Record<NexusState, string> = {
    'has-root-key': 'already holds a root key (initialized)',
    'not-ready': 'has no root key yet',
    unreachable: 'is not reachable (it may still be starting)',
    unexpected: `gave an unexpected answer (HTTP ${nexus.status ?? '?'})`,
  };
  const nexusTextOf = (n: LiveCheckReport['nexus']): string =>
    n.state === 'unexpected' ? `gave an unexpected answer (HTTP ${n.status ?? '?'})` : nexusText[n.state];
  nexusStates.forEach((n, i) => progress(`  Nexus ${nexusUrls[i] ?? ''} ${nexusTextOf(n)}`));
  for (const [i, k] of keepers.entries()) {
    const text =
      k.state === 'has-shard'
        ? 'already holds a share'
        : k.state === 'empty'
          ? 'holds no share'
          : 'cannot tell whether it holds a share (keeper without the status probe)';
    progress(`  Keeper ${i + 1} ${k.url} ${text}`);
  }

  const reasons: string[] = [];
  nexusStates.forEach((n, i) => {
    const at = nexusUrls[i] ?? '';
    if (n.state === 'has-root-key') reasons.push(`SPIKE Nexus at ${at} is already initialized`);
    if (n.state === 'unexpected') {
      reasons.push(`SPIKE Nexus at ${at} answered HTTP ${n.status ?? '?'}, so its state is unknown`);
    }
  });
  const holding = keepers.filter((k) => k.state === 'has-shard').map((k) => k.url);
  if (holding.length > 0) reasons.push(`keeper(s) ${holding.join(', ')} already hold a share of a root key`);
  if (reasons.length > 0) {
    throw new BootstrapRefusedError(
      `refusing to bootstrap: ${reasons.join('; ')}. Nothing was changed. Bootstrapping again would replace the ` +
        'root key and make everything encrypted under the current key unreadable. If that is really what you want ' +
        '(e.g. a fresh system whose old data is gone), run again with --force or SPIKE_BOOTSTRAP_FORCE=true.',
    );
  }
  return { nexus, keepers };
}
