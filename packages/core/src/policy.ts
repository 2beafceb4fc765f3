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
 *
 * People (`people`, `groups`, `workloadsOnly`; ADR 0036): a policy may also name people by
 * principal (`user:<name>`) and groups, matched by exact string equality, never by the SPIFFE ID
 * pattern; a policy with an empty SPIFFE ID pattern names no workload. `checkPerson` evaluates
 * people with the same rules (one policy must grant everything wanted on the path).
 * `workloadsOnly` marks the paths its path pattern matches as values no person reads.
 *
 * Scale: a policy's regexes are compiled when it is stored (to validate it) and again, once, the
 * first time a request needs them; policies no caller ever matches keep no compiled regex (re2js
 * programs take 10-20 KiB each). A SPIFFE ID pattern that is a plain anchored literal (`^...$`)
 * is found by a map lookup instead of a regex test; any other SPIFFE ID or path pattern with an
 * anchored literal prefix is skipped by a prefix comparison when the ID or path does not start
 * with it. Decisions are
 * cached per (peer, permissions, path), bounded, and dropped on every policy change.
 */
import {
  BadRequestError,
  gatedPermissions,
  RESERVED_SYSTEM_PATHS,
  type ApprovalRule,
  type Permission,
} from '@spike-ts/protocol';
import { RE2JS } from 're2js';
import type { PolicyRecord } from './model.ts';

/** A value no real SPIFFE ID equals: only a catch-all pattern accepts it in full (as in SPIKE). */
const ARBITRARY_PROBE = 'spike-arbitrary-probe-value';
const DEFAULT_PEER_CACHE_SIZE = 1024;
const DEFAULT_DECISION_CACHE_SIZE = 16_384;
const MAX_CACHED_PATH = 512;
const MAX_CACHED_PEER = 2048;
const DENIED: AccessDecision = Object.freeze({ allowed: false });

/** A policy that cannot be stored: invalid pattern or reserved-path rule violation (400). */
export class InvalidPolicyError extends BadRequestError {
  override readonly name: string = 'InvalidPolicyError';
}

export interface CompiledPolicy {
  readonly record: PolicyRecord;
  readonly name: string;
  /** Compiled on first use (the pattern was validated when the policy was compiled). */
  readonly idRegex: RE2JS;
  /** Compiled on first use (the pattern was validated when the policy was compiled). */
  readonly pathRegex: RE2JS;
  /** The one SPIFFE ID the ID pattern matches when it is `^literal$`, else undefined. */
  readonly idLiteral: string | undefined;
  /** A prefix every path the path pattern matches starts with ('' when none is known). */
  readonly pathPrefix: string;
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

/** An approval rule that applies to a path and permission, and the policy that holds it (ADR 0042). */
export interface MatchedApprovalRule {
  readonly policy: string;
  readonly rule: Readonly<ApprovalRule>;
}

export interface PolicyLoadResult {
  loaded: number;
  /** Policies that failed to compile; they are not loaded (and so grant nothing). */
  rejected: { name: string; reason: string }[];
  /** Loaded policies that break the reserved-path rule; ignored on reserved paths. */
  restricted: { name: string; reason: string }[];
}

export interface PolicyEngine {
  /**
   * Replace every policy. Invalid ones are skipped and reported. Already compiled policies (from
   * another engine, see `fromPolicyTransfer`) are installed without compiling them again.
   */
  load(records: readonly (PolicyRecord | CompiledPolicy)[]): PolicyLoadResult;
  /** Insert or replace by name. Throws `InvalidPolicyError` (nothing changes) when invalid. */
  upsert(policy: PolicyRecord | CompiledPolicy): CompiledPolicy;
  /** Returns false when no such policy was loaded. */
  remove(name: string): boolean;
  check(peerId: string, path: string, wanted: readonly Permission[]): AccessDecision;
  /** The same evaluation for a person: policies naming `principal` or one of `groups`. */
  checkPerson(
    principal: string,
    groups: readonly string[],
    path: string,
    wanted: readonly Permission[],
  ): AccessDecision;
  /** True when a `workloadsOnly` policy's path pattern matches `path`: no person reads its values. */
  isWorkloadsOnly(path: string): boolean;
  /** True when any loaded policy has an approval rule (one check on the hot path when none has). */
  readonly hasApprovalRules: boolean;
  /**
   * The approval rules whose policy's path pattern matches `path` and which gate `permission`
   * (ADR 0042), in install order; empty when the operation needs no approval.
   */
  approvalRules(path: string, permission: Permission): readonly MatchedApprovalRule[];
  /** Every installed policy, in evaluation order: loading them elsewhere gives the same decisions. */
  all(): readonly CompiledPolicy[];
  readonly size: number;
}

/** A completed change of an engine, as reported to `onChange`. */
export type PolicyChange =
  | { readonly kind: 'load'; readonly policies: readonly CompiledPolicy[] }
  | { readonly kind: 'upsert'; readonly policy: CompiledPolicy }
  | { readonly kind: 'remove'; readonly name: string };

/**
 * A compiled policy as plain data (structured-cloneable): what another engine (another thread)
 * needs to install it without compiling and analysing its patterns again.
 */
export interface PolicyTransfer {
  readonly record: PolicyRecord;
  readonly reservedReached: readonly string[];
  readonly reservedGranted: readonly string[];
}

export interface PolicyEngineOptions {
  /** How many peer IDs to remember the matching policies for (default 1024). */
  peerCacheSize?: number;
  /** How many (peer, permissions, path) decisions to remember (default 16384; 0 = none). */
  decisionCacheSize?: number;
  /** Called after every completed change (load, upsert, effective remove). */
  onChange?: (change: PolicyChange) => void;
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
  // Empty: the policy names no workload (people only), so it reaches no workload imprecisely.
  if (pattern === '') return true;
  if (pattern.startsWith('^') && pattern.endsWith('$')) return true;
  return fullMatchForm(pattern)?.test(ARBITRARY_PROBE) ?? false;
}

const META = new Set('\\.+*?()|[]{}^$');
const QUANTIFIERS = new Set('*+?{');

/**
 * Reads the plain literal at the start of `pattern` (after a leading `^`): printable ASCII that is
 * not a metacharacter, or a backslash-escaped ASCII punctuation character. Stops before any other
 * syntax and before a character that a quantifier follows. Returns the literal and where it ends.
 */
function leadingLiteral(pattern: string): { literal: string; end: number } {
  let literal = '';
  let i = 1;
  while (i < pattern.length) {
    let ch = pattern[i] as string;
    let width = 1;
    if (ch === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!isAsciiPunctuation(next)) break; // `\d`, `\Q`, ... are not literals
      ch = next;
      width = 2;
    } else if (META.has(ch) || ch < ' ' || ch > '~') {
      break;
    }
    if (QUANTIFIERS.has(pattern[i + width] ?? '')) break;
    literal += ch;
    i += width;
  }
  return { literal, end: i };
}

function isAsciiPunctuation(ch: string): boolean {
  return ch.length === 1 && ch >= '!' && ch <= '~' && !/[0-9A-Za-z]/.test(ch);
}

/** `^literal$` with nothing else (no `|`, flags or classes): the only string it matches. */
function exactLiteral(pattern: string): string | undefined {
  if (!pattern.startsWith('^') || pattern.includes('|')) return undefined;
  const { literal, end } = leadingLiteral(pattern);
  return end === pattern.length - 1 && pattern.endsWith('$') ? literal : undefined;
}

/** A prefix of every match of an anchored pattern without alternation; '' when unknown. */
function anchoredPrefix(pattern: string): string {
  if (!pattern.startsWith('^') || pattern.includes('|')) return '';
  return leadingLiteral(pattern).literal;
}

function lazy(pattern: string): () => RE2JS {
  let re: RE2JS | undefined;
  return () => (re ??= RE2JS.compile(pattern));
}

/**
 * Compiles both patterns (throws on an invalid one) and finds the reserved paths the policy
 * reaches and may grant. A function of its own so that no closure kept by the compiled policy
 * shares a scope with (and so retains) these compiled regexes.
 */
function analyse(record: PolicyRecord): Pick<CompiledPolicy, 'reservedReached' | 'reservedGranted'> {
  checkPeopleFields(record);
  compileOrThrow(record.spiffeIdPattern, 'spiffeidPattern', record.name);
  const pathRegex = compileOrThrow(record.pathPattern, 'pathPattern', record.name);
  const reservedReached = RESERVED_SYSTEM_PATHS.filter((p) => pathRegex.test(p));
  const reservedGranted = new Set<string>();
  if (reservedReached.length > 0 && isPreciseIdentityPattern(record.spiffeIdPattern)) {
    const full = fullMatchForm(record.pathPattern);
    for (const reserved of reservedReached) if (full?.testExact(reserved)) reservedGranted.add(reserved);
  }
  return { reservedReached, reservedGranted };
}

/** The rules between the people fields and the SPIFFE ID pattern (ADR 0036). */
function checkPeopleFields(record: PolicyRecord): void {
  const people = record.people ?? [];
  const groups = record.groups ?? [];
  const namesPeople = people.length > 0 || groups.length > 0;
  if (record.spiffeIdPattern === '' && !namesPeople && record.approval === undefined) {
    throw new InvalidPolicyError(
      `policy "${record.name}": spiffeidPattern may be empty only when the policy names people or groups`,
    );
  }
  if (record.workloadsOnly === true && namesPeople) {
    throw new InvalidPolicyError(
      `policy "${record.name}": a workloadsOnly policy must not name people or groups (they could never read its paths)`,
    );
  }
  for (const person of people) {
    if (!person.startsWith('user:') || person.length === 'user:'.length) {
      throw new InvalidPolicyError(
        `policy "${record.name}": people entries are principals of the form user:<name>`,
      );
    }
  }
}

/**
 * Validate and analyse a policy's two patterns. Throws `InvalidPolicyError` on an invalid
 * pattern. The compiled regexes are not kept: `idRegex`/`pathRegex` compile again on first use.
 */
export function compilePolicy(record: PolicyRecord): CompiledPolicy {
  return assemble(record, analyse(record));
}

export function toPolicyTransfer(policy: CompiledPolicy): PolicyTransfer {
  return {
    record: policy.record,
    reservedReached: [...policy.reservedReached],
    reservedGranted: [...policy.reservedGranted],
  };
}

/**
 * The compiled policy another engine sent (`toPolicyTransfer`). Its patterns were validated and
 * analysed there; they are compiled here only on first use, like any compiled policy's.
 */
export function fromPolicyTransfer(transfer: PolicyTransfer): CompiledPolicy {
  return assemble(transfer.record, {
    reservedReached: [...transfer.reservedReached],
    reservedGranted: new Set(transfer.reservedGranted),
  });
}

function assemble(
  record: PolicyRecord,
  { reservedReached, reservedGranted }: Pick<CompiledPolicy, 'reservedReached' | 'reservedGranted'>,
): CompiledPolicy {
  const idRegex = lazy(record.spiffeIdPattern);
  const pathRegexOf = lazy(record.pathPattern);
  return {
    record,
    name: record.name,
    get idRegex() {
      return idRegex();
    },
    get pathRegex() {
      return pathRegexOf();
    },
    idLiteral: exactLiteral(record.spiffeIdPattern),
    pathPrefix: anchoredPrefix(record.pathPattern),
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
 * In-memory policy set. Per request it looks up the decision cache; on a miss it takes the
 * policies whose SPIFFE ID pattern matches the peer (cached per peer ID, bounded: literal ID
 * patterns by map lookup, the others by one regex test per distinct pattern), then tests the
 * path of just those, in the order their ID patterns were first installed.
 */
export function createPolicyEngine(options: PolicyEngineOptions = {}): PolicyEngine {
  const cacheSize = Math.max(1, options.peerCacheSize ?? DEFAULT_PEER_CACHE_SIZE);
  const decisionCacheSize = Math.max(0, options.decisionCacheSize ?? DEFAULT_DECISION_CACHE_SIZE);
  const byName = new Map<string, CompiledPolicy>();
  /** Policies grouped by SPIFFE ID pattern, so each distinct pattern is tested once per new peer. */
  interface Group {
    readonly seq: number;
    readonly pattern: string;
    readonly literal: string | undefined;
    /** A prefix of every SPIFFE ID the pattern matches ('' when none is known). */
    readonly prefix: string;
    readonly members: Map<string, CompiledPolicy>;
  }
  const byIdPattern = new Map<string, Group>();
  /** Groups of `^literal$` ID patterns, by the literal (the only ID they match). */
  const byLiteral = new Map<string, Group>();
  /** Groups of every other ID pattern, by the anchored literal prefix of the pattern ('' if none); tested with their regex. */
  const regexGroups = new Map<string, Set<Group>>();
  /** How many prefixes of `regexGroups` have each length: the lengths a peer ID is cut at. */
  const prefixLengths = new Map<number, number>();
  let seq = 0;
  const peerCache = new Map<string, readonly CompiledPolicy[]>();
  const decisions = new Map<string, AccessDecision>();
  /** Policies naming a person, by principal, and naming a group, by group (exact names). */
  const byPerson = new Map<string, Set<CompiledPolicy>>();
  const byGroup = new Map<string, Set<CompiledPolicy>>();
  /** Policies with `workloadsOnly`, by name. */
  const workloadsOnly = new Map<string, CompiledPolicy>();
  /** Policies with an approval rule, by name, and the permissions each gates. */
  const approvals = new Map<string, { policy: CompiledPolicy; gated: ReadonlySet<Permission> }>();
  /** Install order of each policy (people decisions report the first granting one). */
  const installed = new Map<CompiledPolicy, number>();

  const index = (
    map: Map<string, Set<CompiledPolicy>>,
    keys: readonly string[] | undefined,
    p: CompiledPolicy,
  ): void => {
    for (const key of keys ?? []) {
      let set = map.get(key);
      if (set === undefined) map.set(key, (set = new Set()));
      set.add(p);
    }
  };
  const unindex = (
    map: Map<string, Set<CompiledPolicy>>,
    keys: readonly string[] | undefined,
    p: CompiledPolicy,
  ): void => {
    for (const key of keys ?? []) {
      const set = map.get(key);
      set?.delete(p);
      if (set?.size === 0) map.delete(key);
    }
  };

  const changed = (): void => {
    peerCache.clear();
    decisions.clear();
  };

  /**
   * Every policy in evaluation order (groups as first installed, then members as installed), then
   * the people-only policies (empty SPIFFE ID pattern) in install order.
   */
  const ordered = (): CompiledPolicy[] => {
    const out: CompiledPolicy[] = [];
    for (const group of byIdPattern.values()) for (const p of group.members.values()) out.push(p);
    const peopleOnly = [...byName.values()].filter((p) => p.record.spiffeIdPattern === '');
    peopleOnly.sort((a, b) => (installed.get(a) ?? 0) - (installed.get(b) ?? 0));
    return out.concat(peopleOnly);
  };

  const install = (p: CompiledPolicy): void => {
    uninstall(p.name);
    byName.set(p.name, p);
    installed.set(p, seq++);
    index(byPerson, p.record.people, p);
    index(byGroup, p.record.groups, p);
    if (p.record.workloadsOnly === true) workloadsOnly.set(p.name, p);
    if (p.record.approval !== undefined) {
      approvals.set(p.name, {
        policy: p,
        gated: new Set(gatedPermissions(p.record.approval, p.record.permissions)),
      });
    }
    const key = p.record.spiffeIdPattern;
    // An empty SPIFFE ID pattern names no workload (a policy for people only).
    if (key === '') return;
    let group = byIdPattern.get(key);
    if (group === undefined) {
      group = {
        seq: seq++,
        pattern: key,
        literal: p.idLiteral,
        prefix: p.idLiteral === undefined ? anchoredPrefix(key) : p.idLiteral,
        members: new Map(),
      };
      byIdPattern.set(key, group);
      if (group.literal === undefined) addRegexGroup(group);
      else byLiteral.set(group.literal, group);
    }
    group.members.set(p.name, p);
  };

  const addRegexGroup = (group: Group): void => {
    let set = regexGroups.get(group.prefix);
    if (set === undefined) {
      set = new Set();
      regexGroups.set(group.prefix, set);
      prefixLengths.set(group.prefix.length, (prefixLengths.get(group.prefix.length) ?? 0) + 1);
    }
    set.add(group);
  };

  const removeRegexGroup = (group: Group): void => {
    const set = regexGroups.get(group.prefix);
    if (set === undefined || !set.delete(group) || set.size > 0) return;
    regexGroups.delete(group.prefix);
    const left = (prefixLengths.get(group.prefix.length) ?? 1) - 1;
    if (left === 0) prefixLengths.delete(group.prefix.length);
    else prefixLengths.set(group.prefix.length, left);
  };

  const uninstall = (name: string): boolean => {
    const existing = byName.get(name);
    if (existing === undefined) return false;
    byName.delete(name);
    installed.delete(existing);
    unindex(byPerson, existing.record.people, existing);
    unindex(byGroup, existing.record.groups, existing);
    workloadsOnly.delete(name);
    approvals.delete(name);
    const key = existing.record.spiffeIdPattern;
    const group = byIdPattern.get(key);
    group?.members.delete(name);
    if (group !== undefined && group.members.size === 0) {
      byIdPattern.delete(key);
      if (group.literal === undefined) removeRegexGroup(group);
      if (group.literal !== undefined) byLiteral.delete(group.literal);
    }
    return true;
  };

  const policiesFor = (peerId: string): readonly CompiledPolicy[] => {
    const cached = peerCache.get(peerId);
    if (cached !== undefined) return cached;
    const groups: Group[] = [];
    const exact = byLiteral.get(peerId);
    if (exact !== undefined) groups.push(exact);
    // Only the regex groups whose anchored prefix the peer ID starts with can match it: one map
    // lookup per distinct prefix length, however many patterns there are.
    for (const length of prefixLengths.keys()) {
      if (length > peerId.length) continue;
      const candidates = regexGroups.get(peerId.slice(0, length));
      if (candidates === undefined) continue;
      for (const group of candidates) {
        const first = group.members.values().next().value;
        if (first?.idRegex.test(peerId) === true) groups.push(group);
      }
    }
    groups.sort((a, b) => a.seq - b.seq);
    const matched: CompiledPolicy[] = [];
    for (const group of groups) for (const p of group.members.values()) matched.push(p);
    if (peerCache.size >= cacheSize) {
      const oldest = peerCache.keys().next();
      if (oldest.done !== true) peerCache.delete(oldest.value);
    }
    peerCache.set(peerId, matched);
    return matched;
  };

  const firstGranting = (
    candidates: Iterable<CompiledPolicy>,
    path: string,
    wanted: readonly Permission[],
  ): AccessDecision => {
    const reserved = RESERVED_SYSTEM_PATHS.includes(path);
    for (const p of candidates) {
      if (!grants(p, wanted)) continue;
      if (reserved && !p.reservedGranted.has(path)) continue;
      if (!path.startsWith(p.pathPrefix)) continue;
      if (!p.pathRegex.test(path)) continue;
      return Object.freeze({ allowed: true, policy: p.name });
    }
    return DENIED;
  };
  const evaluate = (peerId: string, path: string, wanted: readonly Permission[]): AccessDecision =>
    firstGranting(policiesFor(peerId), path, wanted);

  /** The policies naming the person or one of the groups, in install order, each once. */
  const policiesForPerson = (principal: string, groups: readonly string[]): CompiledPolicy[] => {
    const found = new Set<CompiledPolicy>(byPerson.get(principal) ?? []);
    for (const group of groups) for (const p of byGroup.get(group) ?? []) found.add(p);
    return [...found].sort((a, b) => (installed.get(a) ?? 0) - (installed.get(b) ?? 0));
  };

  return {
    load(records) {
      byName.clear();
      byPerson.clear();
      byGroup.clear();
      workloadsOnly.clear();
      approvals.clear();
      installed.clear();
      byIdPattern.clear();
      byLiteral.clear();
      regexGroups.clear();
      prefixLengths.clear();
      changed();
      const result: PolicyLoadResult = { loaded: 0, rejected: [], restricted: [] };
      for (const record of records) {
        let compiled: CompiledPolicy;
        try {
          compiled = isCompiled(record) ? record : compilePolicy(record);
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
      options.onChange?.({ kind: 'load', policies: ordered() });
      return result;
    },
    upsert(policy) {
      const compiled = isCompiled(policy) ? policy : compilePolicy(policy);
      const rule = checkReservedPathRule(compiled);
      if (!rule.ok) throw new InvalidPolicyError(rule.reason);
      install(compiled);
      changed();
      options.onChange?.({ kind: 'upsert', policy: compiled });
      return compiled;
    },
    remove(name) {
      const removed = uninstall(name);
      if (removed) {
        changed();
        options.onChange?.({ kind: 'remove', name });
      }
      return removed;
    },
    check(peerId, path, wanted) {
      // Paths are authorized before they are validated, so only short ones are cached (memory).
      if (decisionCacheSize === 0 || path.length > MAX_CACHED_PATH || peerId.length > MAX_CACHED_PEER) {
        return evaluate(peerId, path, wanted);
      }
      // The peer ID's length makes the key unambiguous whatever the peer ID and path contain.
      const key = `${wanted.join(',')}:${String(peerId.length)}:${peerId}${path}`;
      const hit = decisions.get(key);
      if (hit !== undefined) return hit;
      const decision = evaluate(peerId, path, wanted);
      if (decisions.size >= decisionCacheSize) {
        const oldest = decisions.keys().next();
        if (oldest.done !== true) decisions.delete(oldest.value);
      }
      decisions.set(key, decision);
      return decision;
    },
    checkPerson(principal, groups, path, wanted) {
      return firstGranting(policiesForPerson(principal, groups), path, wanted);
    },
    isWorkloadsOnly(path) {
      for (const p of workloadsOnly.values()) {
        if (path.startsWith(p.pathPrefix) && p.pathRegex.test(path)) return true;
      }
      return false;
    },
    get hasApprovalRules() {
      return approvals.size > 0;
    },
    approvalRules(path, permission) {
      if (approvals.size === 0) return [];
      const out: { policy: CompiledPolicy; rule: Readonly<ApprovalRule> }[] = [];
      for (const { policy, gated } of approvals.values()) {
        if (!gated.has(permission)) continue;
        if (!path.startsWith(policy.pathPrefix) || !policy.pathRegex.test(path)) continue;
        out.push({ policy, rule: policy.record.approval as Readonly<ApprovalRule> });
      }
      out.sort((a, b) => (installed.get(a.policy) ?? 0) - (installed.get(b.policy) ?? 0));
      return out.map(({ policy, rule }) => ({ policy: policy.name, rule }));
    },
    all() {
      return ordered();
    },
    get size() {
      return byName.size;
    },
  };
}
