/**
 * The bootstrap ceremony: check that no live system would be overwritten, generate a root key,
 * split it, hand every keeper its share, and have Nexus prove it reconstructed the key.
 * The root key and the shares are zeroed when done, whatever happened.
 */
import {
  combineShares,
  constantTimeEqual,
  generateRootKey,
  splitRootKey,
  zeroize,
  type Share,
} from '@spike-ts/core';
import type { BootstrapConfig } from './config.ts';
import { distributeShares } from './distribute.ts';
import { BootstrapError } from './errors.ts';
import { checkLiveSystem } from './live-check.ts';
import type { RetryHooks } from './retry.ts';
import type { Post } from './transport.ts';
import { verifyNexusHoldsKey } from './verify-nexus.ts';

export interface BootstrapDeps {
  readonly transport: { readonly postKeeper: Post; readonly postNexus: Post };
  /** One human-readable progress line (no trailing newline). */
  readonly progress: (line: string) => void;
  readonly retryHooks?: RetryHooks;
  /** Source of the root key (tests); defaults to the CSPRNG, rejecting 0 and values ≥ n. */
  readonly generateRootKey?: () => Uint8Array;
}

export type BootstrapOutcome = 'bootstrapped' | 'skipped';

/** Split and immediately check that the first `threshold` shares give the key back. */
export function splitAndCheck(rootKey: Uint8Array, threshold: number, shares: number): Share[] {
  const out = splitRootKey(rootKey, threshold, shares);
  const check = combineShares(out.slice(0, threshold), threshold);
  const ok = constantTimeEqual(check, rootKey);
  zeroize(check);
  if (!ok) {
    zeroize(...out.map((s) => s.value));
    throw new BootstrapError('internal error: the shares do not reconstruct the root key');
  }
  return out;
}

export async function runBootstrap(config: BootstrapConfig, deps: BootstrapDeps): Promise<BootstrapOutcome> {
  const { progress, transport } = deps;
  const hooks = deps.retryHooks ?? {};
  if (config.backendStore === 'memory') {
    progress('SPIKE_NEXUS_BACKEND_STORE is memory: there is no root key to bootstrap. Nothing to do.');
    return 'skipped';
  }
  progress(
    `SPIKE Bootstrap: ${config.shares} keeper(s), any ${config.threshold} recover the root key; Nexus at ${(config.nexusApiUrls ?? [config.nexusApiUrl]).join(', ')}`,
  );

  if (config.force) {
    progress('WARNING: --force / SPIKE_BOOTSTRAP_FORCE=true: skipping the live-system check.');
  } else {
    progress('Checking that no SPIKE system is already initialized...');
    await checkLiveSystem(config, transport, progress, hooks);
  }

  const rootKey = (deps.generateRootKey ?? generateRootKey)();
  let shares: Share[] = [];
  try {
    shares = splitAndCheck(rootKey, config.threshold, config.shares);
    progress(`Generated a new root key and split it into ${config.shares} share(s).`);
    progress('Handing each keeper its share...');
    await distributeShares(config, transport.postKeeper, shares, progress, hooks);
    zeroize(...shares.map((s) => s.value));
    progress(
      `Waiting for Nexus to prove it holds the root key (up to ${Math.round(config.verificationTimeoutMs / 1000)}s)...`,
    );
    await verifyNexusHoldsKey(config, transport.postNexus, rootKey, progress, hooks);
    progress('Nexus verified the root key. Bootstrap complete.');
    return 'bootstrapped';
  } finally {
    zeroize(rootKey, ...shares.map((s) => s.value));
  }
}
