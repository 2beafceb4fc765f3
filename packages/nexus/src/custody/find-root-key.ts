/**
 * Reconstruct the root key from collected shares without ever installing a wrong one.
 *
 * Every `threshold`-sized combination of the shares is combined into a candidate key. Shares are
 * a deterministic function of the key (SPIKE's scheme), so each candidate can say which of the
 * collected shares belong to it. Two guards, so a wrong key is never installed:
 *  1. a candidate whose own shares are not the shares it produces is discarded: mixing a share of
 *     another key (or a corrupted one) into a combination yields such an inconsistent key, even
 *     on a store that has no key-check value yet;
 *  2. each remaining candidate (those backed by more shares first) is offered to `install`, which
 *     checks the store's key-check value and throws `WrongRootKeyError` for a wrong key.
 * A share that does not belong to the installed key is reported as suspect (its keeper holds a
 * wrong or foreign share): excluding it is what made the key verify.
 */
import {
  RetiredRootKeyError,
  WrongRootKeyError,
  combineShares,
  constantTimeEqual,
  splitRootKey,
  zeroize,
  type Share,
} from '@spike-ts/core';

/** Bounds the work for large share sets (C(n, t) grows fast). */
export const MAX_COMBINATIONS = 2000;

export interface FindRootKeyResult {
  readonly installed: boolean;
  /** Ids of collected shares that are not shares of the installed key. */
  readonly suspectIds: readonly number[];
  /** Candidate keys offered to `install` and rejected by the key-check. */
  readonly rejectedCandidates: number;
  /** Combinations discarded because their shares are not shares of the key they give. */
  readonly inconsistentCombinations: number;
  /** Set when a candidate was a root key a rotation retired (old shares or recovery files). */
  readonly retired?: RetiredRootKeyError;
}

/** All k-element index combinations of 0..n-1, in lexicographic order, at most `limit`. */
export function* combinations(n: number, k: number, limit = MAX_COMBINATIONS): Generator<number[]> {
  if (k < 1 || k > n) return;
  const idx = Array.from({ length: k }, (_, i) => i);
  for (let produced = 0; produced < limit; produced++) {
    yield [...idx];
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i] = (idx[i] ?? 0) + 1;
    for (let j = i + 1; j < k; j++) idx[j] = (idx[j - 1] ?? 0) + 1;
  }
}

interface Candidate {
  readonly key: Uint8Array;
  readonly members: ReadonlySet<number>;
}

/** Ids of `shares` that are exactly the shares `key` produces. */
function membersOf(key: Uint8Array, shares: readonly Share[], threshold: number): Set<number> {
  const maxId = Math.max(...shares.map((s) => s.id));
  let expected: Share[];
  try {
    expected = splitRootKey(key, threshold, maxId);
  } catch {
    return new Set();
  }
  const members = new Set<number>();
  for (const s of shares) {
    const e = expected[s.id - 1];
    if (e !== undefined && constantTimeEqual(e.value, s.value)) members.add(s.id);
  }
  zeroize(...expected.map((e) => e.value));
  return members;
}

export async function findRootKey(
  shares: readonly Share[],
  threshold: number,
  install: (rootKey: Uint8Array) => Promise<void>,
): Promise<FindRootKeyResult> {
  const candidates: Candidate[] = [];
  let inconsistent = 0;
  try {
    for (const combo of combinations(shares.length, threshold)) {
      const subset = combo.map((i) => shares[i]).filter((s): s is Share => s !== undefined);
      let key: Uint8Array;
      try {
        key = combineShares(subset, threshold);
      } catch {
        continue;
      }
      if (candidates.some((c) => constantTimeEqual(c.key, key))) {
        zeroize(key);
        continue;
      }
      const members = membersOf(key, shares, threshold);
      if (!subset.every((s) => members.has(s.id))) {
        zeroize(key);
        inconsistent++;
        continue;
      }
      candidates.push({ key, members });
    }
    candidates.sort((a, b) => b.members.size - a.members.size);
    let rejected = 0;
    let retired: RetiredRootKeyError | undefined;
    for (const candidate of candidates) {
      try {
        await install(candidate.key);
      } catch (err) {
        if (err instanceof WrongRootKeyError) {
          rejected++;
          if (err instanceof RetiredRootKeyError) retired = err;
          continue;
        }
        throw err;
      }
      const suspectIds = shares.filter((s) => !candidate.members.has(s.id)).map((s) => s.id);
      return {
        installed: true,
        suspectIds,
        rejectedCandidates: rejected,
        inconsistentCombinations: inconsistent,
      };
    }
    return {
      installed: false,
      suspectIds: [],
      rejectedCandidates: rejected,
      inconsistentCombinations: inconsistent,
      ...(retired === undefined ? {} : { retired }),
    };
  } finally {
    zeroize(...candidates.map((c) => c.key));
  }
}
