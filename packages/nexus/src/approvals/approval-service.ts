/**
 * Multi-party approval (ADR 0042): requests, votes, single-use grants, and the check the gated
 * routes run before they act.
 *
 * Storage. Requests live in the store, sealed like secrets, in records under `spike:approvals/`
 * (`:` is not a secret-path character, so no secret route reaches them; the secret list leaves
 * the namespace out). One record per *slot* — a requester, an operation and a target — holds the
 * slot's requests (at most one open, plus a short history). A request id begins with its slot
 * (22 url-safe characters of a SHA-256 of the three), so both "this id" and "a grant for this
 * exact operation" find their record without a scan. Every change is one `updateSecret`
 * read-modify-write of that record: atomic on every backend, across API threads and across
 * replicas on PostgreSQL (row lock), so a grant is used at most once.
 *
 * Enforcement. `enforce` costs one boolean check while no policy has an approval rule. Otherwise
 * the rules matching the path and permission decide; with any, the caller's grant for exactly
 * this operation and target is marked used (or the call is refused with 403
 * `approval_required`). Every caller needs it: workloads, people, admins and the Pilot superuser.
 */
import {
  AccessDeniedError,
  ApprovalRequiredError,
  NotReadyError,
  BadRequestError,
  NotFoundError,
  APPROVAL_DEFAULT_GRANT_TTL_SECONDS,
  APPROVAL_DEFAULT_REQUEST_TTL_SECONDS,
  SYSTEM_PATH_ACL,
  type ApprovalOperation,
  type ApprovalRequestView,
  type ApprovalStatus,
  type Permission,
} from '@spike-ts/protocol';
import {
  callerName,
  randomBytes,
  sha256Hex,
  type Caller,
  type MatchedApprovalRule,
  type PolicyEngine,
  type SecretRecord,
  type SecretStore,
} from '@spike-ts/core';
import type { KeyApprovalHook } from '../keys/approval-hook.ts';
import type { AuditNote } from '../route/route.ts';

/** Store paths of approval records start with this; secret routes can neither name nor list them. */
export const APPROVAL_NAMESPACE = 'spike:approvals/';
export function isApprovalStorePath(path: string): boolean {
  return path.startsWith(APPROVAL_NAMESPACE);
}

/** Most open (pending or approved, unused, unexpired) requests one requester may have. */
export const MAX_OPEN_PER_REQUESTER = 16;
/** Most open requests overall. */
export const MAX_OPEN_TOTAL = 1024;
/** Ended requests kept per slot (history for `list`), and for how long at most. */
const SLOT_HISTORY = 8;
const HISTORY_MS = 7 * 24 * 3600 * 1000;
const SLOT_CHARS = 22;
/** Slots pruned by one filing at most (the rest on later ones). */
const PRUNE_PER_CALL = 16;

/** The gated route an operation is: the path its rules are matched on and the permission. */
export function gateOf(
  operation: ApprovalOperation,
  target: string,
): { path: string; permission: Permission } {
  switch (operation) {
    case 'policy':
      return { path: SYSTEM_PATH_ACL, permission: 'write' };
    default:
      return { path: target, permission: operation };
  }
}

interface StoredVote {
  readonly principal: string;
  readonly at: number;
  readonly comment?: string;
  /** Indices of the request's rules this approver counted for when voting. */
  readonly rules: readonly number[];
}
interface StoredRule {
  readonly policy: string;
  readonly required: number;
  readonly approverGroups: readonly string[];
  readonly approverPeople: readonly string[];
}
type StoredState = 'pending' | 'approved' | 'denied' | 'used' | 'cancelled';
interface StoredRequest {
  readonly id: string;
  readonly requester: string;
  readonly requesterKind: 'workload' | 'person';
  readonly operation: ApprovalOperation;
  readonly target: string;
  readonly reason: string;
  /** The rules that applied when it was filed; votes are counted against these. */
  readonly rules: readonly StoredRule[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly grantTtlMs: number;
  approvals: StoredVote[];
  denials: StoredVote[];
  state: StoredState;
  grantExpiresAt?: number;
  usedAt?: number;
  endedAt?: number;
}

export interface ApprovalServiceOptions {
  readonly store: SecretStore;
  readonly engine: PolicyEngine;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /**
   * False where this thread must not use up a grant itself: an API thread on SQLite, whose
   * connection only reads (the main thread is the one writer). A gated operation reaching it
   * is refused as retryable (503) instead; its front hands gated reads to the main thread, so
   * this happens only when a rule arrived between that choice and the check. Default true.
   */
  readonly usesGrants?: boolean;
}

/** Whether an approval rule of `engine` gates `operation` on `target` now. */
export function approvalGates(engine: PolicyEngine, operation: ApprovalOperation, target: string): boolean {
  if (!engine.hasApprovalRules) return false;
  const { path, permission } = gateOf(operation, target);
  return engine.approvalRules(path, permission).length > 0;
}

const iso = (t: number): string => new Date(t).toISOString();

function statusOf(r: StoredRequest, now: number): ApprovalStatus {
  if (r.state === 'pending' && now >= r.expiresAt) return 'expired';
  if (r.state === 'approved' && now >= (r.grantExpiresAt ?? 0)) return 'expired';
  return r.state;
}
const isOpen = (r: StoredRequest, now: number): boolean => {
  const s = statusOf(r, now);
  return s === 'pending' || s === 'approved';
};
/** When a request stopped being open (for pruning). */
function endOf(r: StoredRequest): number {
  if (r.endedAt !== undefined) return r.endedAt;
  if (r.state === 'approved') return r.grantExpiresAt ?? r.expiresAt;
  return r.expiresAt;
}

function slotOf(requester: string, operation: ApprovalOperation, target: string): string {
  const digest = sha256Hex(JSON.stringify([requester, operation, target]));
  return Buffer.from(digest, 'hex').subarray(0, 16).toString('base64url');
}
const slotPath = (slot: string): string => APPROVAL_NAMESPACE + slot;

function readRequests(rec: { versions: readonly { data: Readonly<Record<string, string>> }[] } | undefined) {
  const text = rec?.versions.at(-1)?.data['requests'];
  if (text === undefined) return [];
  return JSON.parse(text) as StoredRequest[];
}

function record(
  path: string,
  requests: readonly StoredRequest[],
  current: SecretRecord | undefined,
  now: number,
) {
  const createdTime = current?.metadata.createdTime ?? now;
  const next: SecretRecord = {
    path,
    versions: [{ version: 1, data: { requests: JSON.stringify(requests) }, createdTime, deletedTime: null }],
    metadata: { currentVersion: 1, oldestVersion: 1, createdTime, updatedTime: now, maxVersions: 0 },
  };
  return next;
}

/** Keeps what is open, then the newest ended requests within the history bounds. */
function prune(requests: readonly StoredRequest[], now: number): StoredRequest[] {
  const open = requests.filter((r) => isOpen(r, now));
  const ended = requests.filter((r) => !isOpen(r, now) && now - endOf(r) < HISTORY_MS).slice(-SLOT_HISTORY);
  return [...ended, ...open].sort((a, b) => a.createdAt - b.createdAt);
}

function eligibleRules(r: StoredRequest, caller: Caller): number[] {
  if (caller.kind !== 'person') return [];
  const out: number[] = [];
  r.rules.forEach((rule, i) => {
    if (
      rule.approverPeople.includes(caller.principal) ||
      caller.groups.some((g) => rule.approverGroups.includes(g))
    )
      out.push(i);
  });
  return out;
}

function satisfied(r: StoredRequest): boolean {
  return r.rules.every((rule, i) => r.approvals.filter((v) => v.rules.includes(i)).length >= rule.required);
}

function view(r: StoredRequest, now: number): ApprovalRequestView {
  const vote = (v: StoredVote) => ({
    principal: v.principal,
    at: iso(v.at),
    ...(v.comment === undefined ? {} : { comment: v.comment }),
  });
  return {
    id: r.id,
    requester: r.requester,
    requesterKind: r.requesterKind,
    operation: r.operation,
    target: r.target,
    reason: r.reason,
    status: statusOf(r, now),
    required: Math.max(...r.rules.map((x) => x.required)),
    approvals: r.approvals.map(vote),
    denials: r.denials.map(vote),
    createdAt: iso(r.createdAt),
    expiresAt: iso(r.expiresAt),
    ...(r.grantExpiresAt === undefined ? {} : { grantExpiresAt: iso(r.grantExpiresAt) }),
    ...(r.usedAt === undefined ? {} : { usedAt: iso(r.usedAt) }),
  };
}

export class ApprovalService {
  private readonly store: SecretStore;
  private readonly engine: PolicyEngine;
  private readonly now: () => number;
  private readonly usesGrants: boolean;

  constructor(opts: ApprovalServiceOptions) {
    this.store = opts.store;
    this.engine = opts.engine;
    this.now = opts.now;
    this.usesGrants = opts.usesGrants ?? true;
  }

  /** The approval rules that gate `operation` on `target` now (empty: no approval needed). */
  rulesFor(operation: ApprovalOperation, target: string): readonly MatchedApprovalRule[] {
    if (!this.engine.hasApprovalRules) return [];
    const { path, permission } = gateOf(operation, target);
    return this.engine.approvalRules(path, permission);
  }

  /**
   * Lets the operation go ahead when no rule gates it, or uses up the caller's grant for exactly
   * this operation and target; otherwise throws 403 `approval_required`. `note` receives the id
   * of the grant used (for the audit record).
   */
  async enforce(
    caller: Caller | string,
    operation: ApprovalOperation,
    target: string,
    note?: (n: AuditNote) => void,
  ): Promise<void> {
    // The hot path while no policy has an approval rule: one boolean.
    if (!this.engine.hasApprovalRules) return;
    if (this.rulesFor(operation, target).length === 0) return;
    if (!this.usesGrants) {
      throw new NotReadyError(
        'an approval rule now gates this operation; retry (the main thread answers it)',
      );
    }
    const requester = typeof caller === 'string' ? caller : callerName(caller);
    const path = slotPath(slotOf(requester, operation, target));
    const now = this.now();
    const usable = (r: StoredRequest): boolean =>
      r.requester === requester &&
      r.operation === operation &&
      r.target === target &&
      statusOf(r, now) === 'approved';
    const refuse = (): never => {
      note?.({ operation });
      throw new ApprovalRequiredError(
        `${operation}${target === '' ? '' : ` on ${target}`} needs an approved request of ${requester}`,
      );
    };
    // A read first, so a refusal costs no write.
    const read = await this.store.getSecretVersion(path, 0);
    if (read?.version === undefined || !readRequests({ versions: [read.version] }).some(usable)) refuse();
    let used: string | undefined;
    try {
      used = await this.store.updateSecret(path, (current) => {
        const requests = readRequests(current);
        const grant = requests.find(usable);
        if (grant === undefined) return { next: undefined, result: undefined };
        grant.state = 'used';
        grant.usedAt = now;
        grant.endedAt = now;
        return { next: record(path, prune(requests, now), current, now), result: grant.id };
      });
    } catch (err) {
      // A lost COMMIT answer may or may not have used the grant: refuse (fail closed).
      if ((err as { code?: unknown }).code === 'api_outcome_unknown') refuse();
      throw err;
    }
    if (used === undefined) refuse();
    note?.({ approval: used, operation, approvalStatus: 'used' });
  }

  /** The named-key approval hook (keys/approval-hook.ts) backed by this service. */
  keyHook(): KeyApprovalHook {
    return {
      required: (name) => this.rulesFor('sign', name).length > 0 || this.rulesFor('decrypt', name).length > 0,
      check: (caller, name, operation, note) => this.enforce(caller, operation, name, note),
    };
  }

  /** Files a request; an open request of the same slot is answered instead of a second one. */
  async file(caller: Caller, operation: ApprovalOperation, target: string, reason: string) {
    const rules = this.rulesFor(operation, target);
    if (rules.length === 0) {
      throw new BadRequestError(
        `${operation}${target === '' ? '' : ` on ${target}`} needs no approval: no policy's approval rule covers it`,
      );
    }
    const requester = callerName(caller);
    const now = this.now();
    const slots = await this.scanSlots();
    await this.pruneSlots(slots, now);
    const open = slots.flatMap((slot) => slot.requests).filter((r) => isOpen(r, now));
    const slot = slotOf(requester, operation, target);
    const existing = open.find((r) => r.id.startsWith(slot) && r.requester === requester);
    if (existing === undefined) {
      if (open.filter((r) => r.requester === requester).length >= MAX_OPEN_PER_REQUESTER)
        throw new BadRequestError(
          `too many open requests of ${requester} (at most ${MAX_OPEN_PER_REQUESTER}): cancel some or wait for them to end`,
        );
      if (open.length >= MAX_OPEN_TOTAL)
        throw new BadRequestError(`too many open requests in this Nexus (at most ${MAX_OPEN_TOTAL})`);
    }
    const stored: StoredRule[] = rules.map(({ policy, rule }) => ({
      policy,
      required: rule.required,
      approverGroups: [...(rule.approverGroups ?? [])],
      approverPeople: [...(rule.approverPeople ?? [])],
    }));
    const ttl = (pick: (r: MatchedApprovalRule) => number | undefined, fallback: number): number =>
      Math.min(...rules.map((r) => pick(r) ?? fallback)) * 1000;
    const request: StoredRequest = {
      id: slot + Buffer.from(randomBytes(9)).toString('base64url'),
      requester,
      requesterKind: caller.kind,
      operation,
      target,
      reason,
      rules: stored,
      createdAt: now,
      expiresAt: now + ttl((r) => r.rule.requestTtlSeconds, APPROVAL_DEFAULT_REQUEST_TTL_SECONDS),
      grantTtlMs: ttl((r) => r.rule.grantTtlSeconds, APPROVAL_DEFAULT_GRANT_TTL_SECONDS),
      approvals: [],
      denials: [],
      state: 'pending',
    };
    const path = slotPath(slot);
    return await this.store.updateSecret(path, (current) => {
      const requests = prune(readRequests(current), now);
      const already = requests.find((r) => isOpen(r, now));
      if (already !== undefined) return { next: undefined, result: view(already, now) };
      requests.push(request);
      return { next: record(path, requests, current, now), result: view(request, now) };
    });
  }

  /** Approve or deny a pending request (people named by one of its rules, never the requester). */
  async decide(caller: Caller, id: string, verdict: 'approve' | 'deny', comment: string | undefined) {
    const path = this.pathOfId(id);
    const now = this.now();
    return await this.store.updateSecret(path, (current) => {
      const requests = readRequests(current);
      const r = requests.find((x) => x.id === id);
      if (r === undefined) throw new NotFoundError('no such approval request');
      const principal = callerName(caller);
      if (r.requester === principal)
        throw new AccessDeniedError('a requester cannot approve or deny their own request');
      const rules = eligibleRules(r, caller);
      if (rules.length === 0) throw new AccessDeniedError(`${principal} is not an approver of this request`);
      const status = statusOf(r, now);
      if (status !== 'pending') throw new BadRequestError(`the request is ${status}, not pending`);
      if ([...r.approvals, ...r.denials].some((v) => v.principal === principal))
        throw new BadRequestError(`${principal} has decided on this request already`);
      const vote: StoredVote = { principal, at: now, ...(comment === undefined ? {} : { comment }), rules };
      if (verdict === 'deny') {
        r.denials.push(vote);
        r.state = 'denied';
        r.endedAt = now;
      } else {
        r.approvals.push(vote);
        if (satisfied(r)) {
          r.state = 'approved';
          r.grantExpiresAt = now + r.grantTtlMs;
        }
      }
      return { next: record(path, prune(requests, now), current, now), result: view(r, now) };
    });
  }

  /** The requester withdraws a pending or approved request. */
  async cancel(caller: Caller, id: string, seesAll: boolean) {
    const path = this.pathOfId(id);
    const now = this.now();
    return await this.store.updateSecret(path, (current) => {
      const requests = readRequests(current);
      const r = requests.find((x) => x.id === id);
      if (r === undefined || !this.visible(r, caller, seesAll))
        throw new NotFoundError('no such approval request');
      if (r.requester !== callerName(caller))
        throw new AccessDeniedError('only the requester can cancel a request');
      const status = statusOf(r, now);
      if (status !== 'pending' && status !== 'approved')
        throw new BadRequestError(
          `the request is ${status}; only pending or approved requests can be cancelled`,
        );
      r.state = 'cancelled';
      r.endedAt = now;
      return { next: record(path, prune(requests, now), current, now), result: view(r, now) };
    });
  }

  async get(caller: Caller, id: string, seesAll: boolean): Promise<ApprovalRequestView> {
    const read = await this.store.getSecretVersion(this.pathOfId(id), 0);
    const r =
      read?.version === undefined
        ? undefined
        : readRequests({ versions: [read.version] }).find((x) => x.id === id);
    if (r === undefined || !this.visible(r, caller, seesAll))
      throw new NotFoundError('no such approval request');
    return view(r, this.now());
  }

  async list(
    caller: Caller,
    filter: { status: string; mine: boolean; limit: number },
    seesAll: boolean,
  ): Promise<ApprovalRequestView[]> {
    const now = this.now();
    const me = callerName(caller);
    return (await this.scan())
      .filter((r) => (filter.mine ? r.requester === me : this.visible(r, caller, seesAll)))
      .filter((r) => filter.status === '' || statusOf(r, now) === filter.status)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, filter.limit)
      .map((r) => view(r, now));
  }

  /** The requester, its approvers, and (with `seesAll`) admins, auditors and the Pilot superuser. */
  private visible(r: StoredRequest, caller: Caller, seesAll: boolean): boolean {
    return seesAll || r.requester === callerName(caller) || eligibleRules(r, caller).length > 0;
  }

  private pathOfId(id: string): string {
    return slotPath(id.slice(0, SLOT_CHARS));
  }

  /** Every stored request (open and history), from every slot. */
  private async scan(): Promise<StoredRequest[]> {
    return (await this.scanSlots()).flatMap((slot) => slot.requests);
  }

  private async scanSlots(): Promise<{ path: string; requests: StoredRequest[] }[]> {
    const { paths } = await this.store.scanSecretPaths();
    const out: { path: string; requests: StoredRequest[] }[] = [];
    for (const path of paths) {
      if (!isApprovalStorePath(path)) continue;
      const read = await this.store.getSecretVersion(path, 0);
      if (read?.version !== undefined)
        out.push({ path, requests: readRequests({ versions: [read.version] }) });
    }
    return out;
  }

  /** Drops what the history bounds no longer keep from slots nobody touched lately (a few per call). */
  private async pruneSlots(slots: readonly { path: string; requests: StoredRequest[] }[], now: number) {
    const stale = slots
      .filter((s) => prune(s.requests, now).length < s.requests.length)
      .slice(0, PRUNE_PER_CALL);
    for (const { path } of stale) {
      await this.store.updateSecret(path, (current) => {
        const requests = readRequests(current);
        const kept = prune(requests, now);
        if (kept.length === requests.length) return { next: undefined, result: undefined };
        return { next: record(path, kept, current, now), result: undefined };
      });
    }
  }
}
