/**
 * Policy evaluation with SPIKE's semantics: patterns are RE2 regular expressions matched
 * unanchored (Go's `MatchString`), and a request is allowed only when ONE policy matches the
 * caller's SPIFFE ID, matches the path and grants `super` or every wanted permission. There are no
 * deny rules and no union across policies. Matching uses re2js, so it is linear in the input for
 * every pattern (no catastrophic backtracking).
 *
 * Reserved system paths (SPIKE ADR-0033): `spike/system/acl`, `spike/system/secret` and
 * `spike/system/cipher/exec` gate SPIKE's own privileged operations. A policy reaches one only if
 * its path pattern describes the path (`^(?:pattern)$` matches it in full) AND its SPIFFE ID
 * pattern is precise (starts with `^` and ends with `$`) or a deliberate catch-all (its full-match
 * form accepts an arbitrary probe value). Upserts that break the rule are rejected; policies that
 * already break it (loaded from storage) are ignored for reserved paths and keep working elsewhere.
 * Unlike SPIKE, which only checks the first reserved path a pattern reaches, upsert checks all.
 */
import { BadRequestError, RESERVED_SYSTEM_PATHS, type Permission } from '@spike-ts/protocol';
import { RE2JS } from 're2js';
import type { PolicyRecord } from './model.ts';

/** A value no real SPIFFE ID equals: only a catch-all pattern accepts it in full (as in SPIKE). */
const ARBITRARY_PROBE = 'spike-arbitrary-probe-value';
const DEFAULT_PEER_CACHE_SIZE = 1024;

/** A policy that cannot be stored: invalid pattern or reserved-path rule violation (400). */
export class InvalidPolicyError extends BadRequestError {
  override readonly name: string = 'InvalidPolicyError';
}

export interface CompiledPolicy {
  readonly record: PolicyRecord;
  readonly name: string;
  readonly idRegex: RE2JS;
  readonly pathRegex: RE2JS;
  readonly permissions: ReadonlySet<Permission>;
  /** Reserved system paths this policy's path pattern reaches (unanchored match). */
  readonly reservedReached: readonly string[];
  /** Reserved system paths this policy may actually grant on (the ADR-0033 rule holds). */
  readonly reservedGranted: ReadonlySet<string>;
}

export type ReservedPathRuleResult = { ok: true } | { ok: false; reason: string };

export interface AccessDecision {
  allowed: boolean;
  /** Name of the policy that granted access. */
  policy?: string;
}

export interface PolicyLoadResult {
  loaded: number;
  /** Policies that failed to compile; they are not loaded (and so grant nothing). */
  rejected: { name: string; reason: string }[];
  /** Loaded policies that break the reserved-path rule; ignored on reserved paths. */
  restricted: { name: string; reason: string }[];
}

export interface PolicyEngine {
  /** Replace every policy. Invalid ones are skipped and reported. */
  load(records: readonly PolicyRecord[]): PolicyLoadResult;
  /** Insert or replace by name. Throws `InvalidPolicyError` (nothing changes) when invalid. */
  upsert(policy: PolicyRecord | CompiledPolicy): CompiledPolicy;
  /** Returns false when no such policy was loaded. */
  remove(name: string): boolean;
  check(peerId: string, path: string, wanted: readonly Permission[]): AccessDecision;
  readonly size: number;
}

export interface PolicyEngineOptions {
  /** How many peer IDs to remember the matching policies for (default 1024). */
  peerCacheSize?: number;
}

function compileOrThrow(pattern: string, field: string, name: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch {
    throw new InvalidPolicyError(`policy "${name}": ${field} is not a valid RE2 regular expression`);
  }
}

/** `^(?:pattern)$`, or undefined when that does not compile (then it describes nothing). */
function fullMatchForm(pattern: string): RE2JS | undefined {
  try {
    return RE2JS.compile(`^(?:${pattern})$`);
  } catch {
    return undefined;
  }
}

function isPreciseIdentityPattern(pattern: string): boolean {
  if (pattern.startsWith('^') && pattern.endsWith('$')) return true;
  return fullMatchForm(pattern)?.test(ARBITRARY_PROBE) ?? false;
}

/** Compile a policy's two patterns once. Throws `InvalidPolicyError` on an invalid pattern. */
export function compilePolicy(record: PolicyRecord): CompiledPolicy {
  const idRegex = compileOrThrow(record.spiffeIdPattern, 'spiffeidPattern', record.name);
  const pathRegex = compileOrThrow(record.pathPattern, 'pathPattern', record.name);
  const reservedReached = RESERVED_SYSTEM_PATHS.filter((p) => pathRegex.test(p));
  const reservedGranted = new Set<string>();
  if (reservedReached.length > 0 && isPreciseIdentityPattern(record.spiffeIdPattern)) {
    const full = fullMatchForm(record.pathPattern);
    for (const reserved of reservedReached) if (full?.testExact(reserved)) reservedGranted.add(reserved);
  }
  return {
    record,
    name: record.name,
    idRegex,
    pathRegex,
    permissions: new Set(record.permissions),
    reservedReached,
    reservedGranted,
  };
}

function isCompiled(p: PolicyRecord | CompiledPolicy): p is CompiledPolicy {
  return 'record' in p && 'idRegex' in p;
}

/** The ADR-0033 rule for a policy about to be stored. Throws `InvalidPolicyError` if it does not compile. */
export function checkReservedPathRule(policy: PolicyRecord | CompiledPolicy): ReservedPathRuleResult {
  const compiled = isCompiled(policy) ? policy : compilePolicy(policy);
  for (const reserved of compiled.reservedReached) {
    if (!compiled.reservedGranted.has(reserved)) {
      return {
        ok: false,
        reason:
          `policy "${compiled.name}" reaches the reserved system path ${reserved} without describing it: ` +
          `the path pattern must match the whole path and the SPIFFE ID pattern must start with ^ and end with $`,
      };
    }
  }
  return { ok: true };
}

function grants(policy: CompiledPolicy, wanted: readonly Permission[]): boolean {
  if (policy.permissions.has('super')) return true;
  for (const w of wanted) if (!policy.permissions.has(w)) return false;
  return true;
}

/**
 * In-memory policy set, compiled once. Per request it tests the ID patterns only for a peer it
 * has not seen since the last change (the matching policies are cached per peer ID, bounded),
 * then tests the path pattern of just those policies.
 */
export function createPolicyEngine(options: PolicyEngineOptions = {}): PolicyEngine {
  const cacheSize = Math.max(1, options.peerCacheSize ?? DEFAULT_PEER_CACHE_SIZE);
  const byName = new Map<string, CompiledPolicy>();
  /** Policies grouped by SPIFFE ID pattern, so each distinct pattern is tested once per new peer. */
  const byIdPattern = new Map<string, { regex: RE2JS; members: Map<string, CompiledPolicy> }>();
  const peerCache = new Map<string, readonly CompiledPolicy[]>();

  const install = (p: CompiledPolicy): void => {
    uninstall(p.name);
    byName.set(p.name, p);
    const key = p.record.spiffeIdPattern;
    let group = byIdPattern.get(key);
    if (group === undefined) {
      group = { regex: p.idRegex, members: new Map() };
      byIdPattern.set(key, group);
    }
    group.members.set(p.name, p);
  };

  const uninstall = (name: string): boolean => {
    const existing = byName.get(name);
    if (existing === undefined) return false;
    byName.delete(name);
    const key = existing.record.spiffeIdPattern;
    const group = byIdPattern.get(key);
    group?.members.delete(name);
    if (group?.members.size === 0) byIdPattern.delete(key);
    return true;
  };

  const policiesFor = (peerId: string): readonly CompiledPolicy[] => {
    const cached = peerCache.get(peerId);
    if (cached !== undefined) return cached;
    const matched: CompiledPolicy[] = [];
    for (const group of byIdPattern.values()) {
      if (group.regex.test(peerId)) for (const p of group.members.values()) matched.push(p);
    }
    if (peerCache.size >= cacheSize) {
      const oldest = peerCache.keys().next();
      if (oldest.done !== true) peerCache.delete(oldest.value);
    }
    peerCache.set(peerId, matched);
    return matched;
  };

  return {
    load(records) {
      byName.clear();
      byIdPattern.clear();
      peerCache.clear();
      const result: PolicyLoadResult = { loaded: 0, rejected: [], restricted: [] };
      for (const record of records) {
        let compiled: CompiledPolicy;
        try {
          compiled = compilePolicy(record);
        } catch (err) {
          const reason = err instanceof BadRequestError ? err.detail : 'failed to compile';
          result.rejected.push({ name: record.name, reason });
          continue;
        }
        install(compiled);
        const rule = checkReservedPathRule(compiled);
        if (!rule.ok) result.restricted.push({ name: record.name, reason: rule.reason });
      }
      result.loaded = byName.size;
      return result;
    },
    upsert(policy) {
      const compiled = isCompiled(policy) ? policy : compilePolicy(policy);
      const rule = checkReservedPathRule(compiled);
      if (!rule.ok) throw new InvalidPolicyError(rule.reason);
      install(compiled);
      peerCache.clear();
      return compiled;
    },
    remove(name) {
      const removed = uninstall(name);
      if (removed) peerCache.clear();
      return removed;
    },
    check(peerId, path, wanted) {
      const reserved = RESERVED_SYSTEM_PATHS.includes(path);
      for (const p of policiesFor(peerId)) {
        if (!grants(p, wanted)) continue;
        if (reserved && !p.reservedGranted.has(path)) continue;
        if (!p.pathRegex.test(path)) continue;
        return { allowed: true, policy: p.name };
      }
      return { allowed: false };
    },
    get size() {
      return byName.size;
    },
  };
}
