/**
 * @module approval-view
 * How the approval commands show a request: one request in detail, a table of requests, the
 * progress lines of `spike request --wait`, and the command to run once a request is approved.
 * Reasons and comments are people's words: shown with control characters escaped.
 */
import type { ApprovalRequestInfo, ApprovalVoteInfo } from '@spike-ts/sdk';
import { shown } from './cli-args.ts';

/** A vote and a request as the SDK gives them. */
export type ApprovalMark = ApprovalVoteInfo;
export type RequestView = ApprovalRequestInfo;

/** Text of people's words in a terminal: escaped, never cut (show keeps the whole text). */
function words(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/** `2026-12-06T01:02:03.456Z` -> `2026-12-06 01:02:03 UTC`. */
export function utc(iso: string | undefined): string {
  if (iso === undefined || iso === '') return '-';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return shown(iso);
  return `${t.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function targetText(operation: string, target: string): string {
  return operation === 'policy' ? '(policies)' : target;
}

/** The command that uses the grant, for messages. */
export function commandFor(operation: string, target: string): string {
  const t = /^[A-Za-z0-9._/-]+$/.test(target) ? target : `'${shown(target)}'`;
  switch (operation) {
    case 'read':
      return `spike secret get ${t}`;
    case 'write':
      return `spike secret put ${t} … (or delete/undelete)`;
    case 'sign':
      return `spike sign ${t} …`;
    case 'decrypt':
      return `spike key decrypt ${t} …`;
    default:
      return 'spike policy apply … (or create/delete)';
  }
}

/** `spike request <operation> <target> --reason "…"`, for refusals. */
export function requestCommandFor(operation: string, target: string): string {
  const t =
    operation === 'policy' ? '' : ` ${/^[A-Za-z0-9._/-]+$/.test(target) ? target : `'${shown(target)}'`}`;
  return `spike request ${operation}${t} --reason "<why you need it>"`;
}

function mark(m: ApprovalMark): string {
  return `${m.principal} at ${utc(m.at)}${m.comment === undefined ? '' : `: "${words(m.comment)}"`}`;
}

/** `1 of 2 approvals`. */
export function progressText(v: RequestView): string {
  return `${String(v.approvals.length)} of ${String(v.required)} approval${v.required === 1 ? '' : 's'}`;
}

/** One request in detail (`spike requests show`). */
export function renderRequest(v: RequestView): string {
  const lines = [
    `Request     ${v.id}`,
    `Status      ${v.status}${v.status === 'pending' ? ` (${progressText(v)})` : ''}`,
    `Operation   ${v.operation}`,
    `Target      ${shown(targetText(v.operation, v.target))}`,
    `Requester   ${v.requester} (${v.requesterKind})`,
    `Reason      ${words(v.reason)}`,
    `Required    ${String(v.required)} approval${v.required === 1 ? '' : 's'} by people other than the requester`,
    `Created     ${utc(v.createdAt)}`,
    `Expires     ${utc(v.expiresAt)}`,
  ];
  if (v.grantExpiresAt !== undefined) lines.push(`Grant until ${utc(v.grantExpiresAt)} (one use)`);
  if (v.usedAt !== undefined) lines.push(`Used        ${utc(v.usedAt)}`);
  lines.push(`Approvals   ${v.approvals.length === 0 ? '-' : v.approvals.map(mark).join('\n            ')}`);
  if (v.denials.length > 0) lines.push(`Denials     ${v.denials.map(mark).join('\n            ')}`);
  return lines.join('\n') + '\n';
}

/** Requests as a table (`spike requests list`). */
export function renderRequestTable(list: readonly RequestView[]): string {
  const rows = list.map((v) => [
    v.id,
    v.status,
    v.operation,
    shown(targetText(v.operation, v.target)),
    v.requester,
    `${String(v.approvals.length)}/${String(v.required)}`,
    utc(v.status === 'approved' ? v.grantExpiresAt : v.expiresAt),
  ]);
  const head = ['ID', 'STATUS', 'OPERATION', 'TARGET', 'REQUESTER', 'APPROVALS', 'EXPIRES'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(width[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
