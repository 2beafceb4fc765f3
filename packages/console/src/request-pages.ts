/**
 * The console's pages for multi-party approval (ADRs 0042, 0043): the requests page (pending
 * requests the person may decide, and their own), one request with its Approve, Deny and Cancel
 * forms, and the "Request access" form, which also appears on the page of an operation Nexus
 * refused with `approval_required`. Plain forms, no script; every value escaped by `markup`.
 */
import { APPROVAL_OPERATIONS, type ApprovalRequestView, type ApprovalVote } from '@spike-ts/protocol';
import { markup, query, type SafeHtml } from './html.ts';
import { BASE, csrfField, layout, postButton, type PageContext } from './pages.ts';

/** The operations a request names. */
export const REQUEST_OPERATIONS = APPROVAL_OPERATIONS;

/** A vote and a request as the API shows them (the protocol's wire types). */
export type RequestVote = Readonly<ApprovalVote>;
export type RequestView = Readonly<ApprovalRequestView>;

/** What a "Request access" form holds (kept when the server refuses it). */
export interface RequestForm {
  readonly operation: string;
  readonly target: string;
  readonly reason: string;
}

const OPERATION_WORDS: Readonly<Record<string, string>> = {
  read: 'read the values of secret',
  write: 'write, delete or undelete secret',
  sign: 'sign with key',
  decrypt: 'decrypt with key',
  policy: 'change policies',
};

/** `read the values of secret infra/db/root` (text; escaped where it is used). */
export function operationText(operation: string, target: string): string {
  const words = OPERATION_WORDS[operation] ?? operation;
  return operation === 'policy' ? words : `${words} ${target}`;
}

/** A readable UTC time from an ISO string ('' stays ''). */
function when(iso: string | undefined): string {
  if (iso === undefined || iso === '') return '';
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : `${t.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const link = (v: RequestView): SafeHtml =>
  markup`<a href="${BASE}/request${query({ id: v.id })}">${v.id.slice(0, 10)}…</a>`;

function requestRows(list: readonly RequestView[]): SafeHtml {
  return markup`${list.map(
    (v) =>
      markup`<tr><td class="path">${link(v)}</td><td>${v.status}</td><td>${v.operation}</td><td class="path">${v.operation === 'policy' ? '(policies)' : v.target}</td><td class="path">${v.requester}</td><td>${v.reason.length > 120 ? `${v.reason.slice(0, 117)}…` : v.reason}</td><td>${v.approvals.length} of ${v.required}</td><td>${when(v.status === 'approved' ? v.grantExpiresAt : v.expiresAt)}</td></tr>`,
  )}`;
}

function requestTable(id: string, list: readonly RequestView[], empty: string): SafeHtml {
  if (list.length === 0) return markup`<p class="muted" id="${id}-empty">${empty}</p>`;
  return markup`<div class="scroll"><table id="${id}"><thead><tr><th scope="col">Request</th><th scope="col">Status</th><th scope="col">Operation</th><th scope="col">Target</th><th scope="col">Requester</th><th scope="col">Reason</th><th scope="col">Approvals</th><th scope="col">Expires</th></tr></thead><tbody>${requestRows(list)}</tbody></table></div>`;
}

/**
 * The requests page: pending requests of other people this person has not decided yet (those
 * they may approve; admins and auditors see every request), then their own.
 */
export function requestsPage(
  ctx: PageContext,
  toDecide: readonly RequestView[],
  mine: readonly RequestView[],
): string {
  return layout(
    ctx,
    'Requests',
    markup`<p><a href="${BASE}/request/new">Request access</a></p>
<h2>Waiting for a decision</h2>
<p class="muted">Pending requests of other people that you have not approved or denied yet.</p>
${requestTable('to-decide', toDecide, 'No request waits for you.')}
<h2>My requests</h2>
${requestTable('mine', mine, 'You have filed no requests.')}`,
  );
}

function votes(title: string, id: string, list: readonly RequestVote[]): SafeHtml | '' {
  if (list.length === 0) return '';
  const rows = list.map(
    (v) =>
      markup`<tr><td class="path">${v.principal}</td><td>${when(v.at)}</td><td>${v.comment ?? ''}</td></tr>`,
  );
  return markup`<h2>${title}</h2><div class="scroll"><table id="${id}"><thead><tr><th scope="col">Who</th><th scope="col">When</th><th scope="col">Comment</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** Where the requester goes to use an approved grant (a GET page; the use itself is a POST there). */
function useLink(v: RequestView): SafeHtml | '' {
  if (v.operation === 'read' || v.operation === 'write')
    return markup` <a href="${BASE}/secret${query({ path: v.target })}" id="use">Open secret ${v.target}</a>.`;
  if (v.operation === 'policy') return markup` <a href="${BASE}/policies" id="use">Open the policies</a>.`;
  return '';
}

/** One request: its facts, the votes, and what this person may do with it. */
export function requestPage(ctx: PageContext, v: RequestView, error?: string): string {
  const me = ctx.person?.principal ?? '';
  const mine = v.requester === me;
  const decided = [...v.approvals, ...v.denials].some((x) => x.principal === me);
  const errorBox =
    error === undefined ? '' : markup`<p class="flash error" role="alert" id="request-error">${error}</p>`;
  let actions: SafeHtml | '' = '';
  if (v.status === 'pending' && mine) {
    actions = markup`<h2>Your request</h2><p>Other people approve it: ${v.required} approval(s) by people other than you. You may cancel it.</p>
${postButton(ctx, `${BASE}/request/cancel`, { id: v.id }, 'Cancel this request', true)}`;
  } else if (v.status === 'pending' && decided) {
    actions = markup`<p class="muted">You have decided on this request. It waits for other approvers.</p>`;
  } else if (v.status === 'pending') {
    actions = markup`<h2>Decide</h2>
<p>Approve only when the reason justifies ${operationText(v.operation, v.target)} once by ${v.requester}.</p>
<form class="stack" method="post" action="${BASE}/request/approve">${csrfField(ctx)}<input type="hidden" name="id" value="${v.id}">
<label>Comment (optional)<textarea name="comment" maxlength="1000" autocomplete="off"></textarea></label>
<button type="submit">Approve</button></form>
<form class="stack" method="post" action="${BASE}/request/deny">${csrfField(ctx)}<input type="hidden" name="id" value="${v.id}">
<label>Comment (optional)<textarea name="comment" maxlength="1000" autocomplete="off"></textarea></label>
<button type="submit" class="danger">Deny</button></form>`;
  } else if (v.status === 'approved' && mine) {
    actions = markup`<p class="flash ok" id="grant">Approved: you may ${operationText(v.operation, v.target)} once, until ${when(v.grantExpiresAt)}.${useLink(v)}</p>`;
  }
  const body = markup`${errorBox}<dl class="kv" id="request">
<dt>ID</dt><dd class="path">${v.id}</dd>
<dt>Status</dt><dd id="status">${v.status}</dd>
<dt>Operation</dt><dd>${v.operation}</dd>
<dt>Target</dt><dd class="path">${v.operation === 'policy' ? '(policies)' : v.target}</dd>
<dt>Requester</dt><dd class="path">${v.requester} (${v.requesterKind})</dd>
<dt>Reason</dt><dd id="reason">${v.reason}</dd>
<dt>Approvals</dt><dd id="progress">${v.approvals.length} of ${v.required}</dd>
<dt>Created</dt><dd>${when(v.createdAt)}</dd>
<dt>Expires</dt><dd>${when(v.expiresAt)}</dd>
${v.grantExpiresAt === undefined ? '' : markup`<dt>Grant until</dt><dd>${when(v.grantExpiresAt)} (one use)</dd>`}
${v.usedAt === undefined ? '' : markup`<dt>Used</dt><dd>${when(v.usedAt)}</dd>`}
</dl>
${votes('Approvals', 'approvals', v.approvals)}${votes('Denials', 'denials', v.denials)}
${actions}
<p><a href="${BASE}/requests">All requests</a></p>`;
  return layout(ctx, `Request ${v.id.slice(0, 10)}…`, body);
}

/** The fields of a "Request access" form; operation and target fixed when `fixed`. */
function requestFields(ctx: PageContext, form: RequestForm, fixed: boolean): SafeHtml {
  const head = fixed
    ? markup`<input type="hidden" name="operation" value="${form.operation}"><input type="hidden" name="target" value="${form.target}">`
    : markup`<label>Operation<select name="operation">${REQUEST_OPERATIONS.map(
        (o) =>
          markup`<option value="${o}"${form.operation === o ? markup` selected` : ''}>${OPERATION_WORDS[o] ?? o}</option>`,
      )}</select></label>
<label>Secret path or key name (empty to change policies)<input name="target" value="${form.target}" autocomplete="off" spellcheck="false"></label>`;
  return markup`<form class="stack" method="post" action="${BASE}/request/file" id="request-form">${csrfField(ctx)}${head}
<label>Reason (what for; the approvers read it)<textarea name="reason" required maxlength="1000" autocomplete="off">${form.reason}</textarea></label>
<button type="submit">Request access</button></form>`;
}

/** The "Request access" page. */
export function requestFormPage(ctx: PageContext, form: RequestForm, error?: string): string {
  const errorBox =
    error === undefined ? '' : markup`<p class="flash error" role="alert" id="request-error">${error}</p>`;
  return layout(
    ctx,
    'Request access',
    markup`${errorBox}<p>Some operations need approval by other people first (a policy's approval rule). Once enough of them approve, you may do it once, for a limited time.</p>
${requestFields(ctx, form, false)}`,
  );
}

/**
 * The page of an operation Nexus refused with `approval_required`: says so and offers the request
 * for exactly this operation and target.
 */
export function approvalRequiredPage(ctx: PageContext, operation: string, target: string): string {
  return layout(
    ctx,
    'Approval required',
    markup`<p class="flash error" role="alert">To ${operationText(operation, target)} you need approval by other people first, and you hold no approved request for it.</p>
<p>Ask for it here. Once enough approvers approve, you may do it once, for a limited time. Your requests are on the <a href="${BASE}/requests">requests page</a>.</p>
<dl class="kv"><dt>Operation</dt><dd>${operation}</dd><dt>Target</dt><dd class="path">${operation === 'policy' ? '(policies)' : target}</dd></dl>
${requestFields(ctx, { operation, target, reason: '' }, true)}`,
  );
}
