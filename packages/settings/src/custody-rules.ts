/**
 * The root-key custody settings whose rules span several variables (Shamir shares and threshold;
 * SPIKE_NEXUS_KEEPER_PEERS: required for a persistent backend, exactly SPIKE_NEXUS_SHAMIR_SHARES
 * entries), read the same way by Nexus and bootstrap.
 */
import type { SettingsReader } from './reader.ts';
import {
  KEEPERS_REQUIRED,
  keeperCountRule,
  SPIKE_NEXUS_BACKEND_STORE,
  SPIKE_NEXUS_KEEPER_PEERS,
  SPIKE_NEXUS_SHAMIR_SHARES,
  SPIKE_NEXUS_SHAMIR_THRESHOLD,
} from './table.ts';

/**
 * Reads the keeper list; when `required` (the backend keeps a root key), reports a missing list
 * and a list whose length is not `shares` through `r`.
 */
export function readKeeperPeers(r: SettingsReader, required: boolean, shares: number): readonly string[] {
  const peers = r.maybe(SPIKE_NEXUS_KEEPER_PEERS) ?? [];
  if (required) {
    r.require(r.isSet(SPIKE_NEXUS_KEEPER_PEERS), SPIKE_NEXUS_KEEPER_PEERS, KEEPERS_REQUIRED, [
      SPIKE_NEXUS_BACKEND_STORE,
    ]);
    r.require(
      peers.length === 0 || peers.length === shares,
      SPIKE_NEXUS_KEEPER_PEERS,
      keeperCountRule(peers.length, shares),
      [SPIKE_NEXUS_SHAMIR_SHARES],
    );
  }
  return peers;
}

/** Reads the Shamir share count and threshold; a threshold above the count is reported through `r`. */
export function readShamirSplit(r: SettingsReader): { readonly shares: number; readonly threshold: number } {
  const shares = r.get(SPIKE_NEXUS_SHAMIR_SHARES);
  const threshold = r.get(SPIKE_NEXUS_SHAMIR_THRESHOLD);
  r.require(
    threshold <= shares,
    SPIKE_NEXUS_SHAMIR_THRESHOLD,
    'must not be greater than SPIKE_NEXUS_SHAMIR_SHARES',
    [SPIKE_NEXUS_SHAMIR_SHARES],
  );
  return { shares, threshold };
}
