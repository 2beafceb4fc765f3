/**
 * The console's pages: plain HTML forms, no script. Every page goes through `layout`, and every
 * value in them through `markup`'s escaping (html.ts), so names and paths from the store are text,
 * never markup. State-changing forms are POSTs that carry the session's CSRF token.
 */
import { ERROR_CODES, isErrorCode, PERMISSIONS, type SecretMetadataResponse } from '@spike-ts/protocol';
import { markup, query, type HtmlValue, type SafeHtml } from './html.ts';
import type { ConsolePerson } from './port.ts';

export const BASE = '/console';

export interface PageContext {
  readonly person?: ConsolePerson;
  readonly csrf?: string;
  readonly flash?: { readonly kind: 'ok' | 'error'; readonly text: string };
}

/** The hidden CSRF field every POST form carries. */
export function csrfField(ctx: PageContext): SafeHtml {
  return markup`<input type="hidden" name="csrf" value="${ctx.csrf ?? ''}">`;
}

/** A one-button POST form (delete, undelete, reveal, logout). */
export function postButton(
  ctx: PageContext,
  action: string,
  fields: Readonly<Record<string, string | number>>,
  label: string,
  danger = false,
): SafeHtml {
  const hidden = Object.entries(fields).map(
    ([k, v]) => markup`<input type="hidden" name="${k}" value="${v}">`,
  );
  const cls = danger ? markup` class="danger"` : '';
  return markup`<form class="inline" method="post" action="${action}">${csrfField(ctx)}${hidden}<button type="submit"${cls}>${label}</button></form>`;
}

export function layout(ctx: PageContext, title: string, body: HtmlValue, meta?: SafeHtml): string {
  const person = ctx.person;
  const nav =
    person === undefined
      ? ''
      : markup`<nav aria-label="Main"><a href="${BASE}/secrets">Secrets</a><a href="${BASE}/policies">Policies</a><a href="${BASE}/requests">Requests</a><a href="${BASE}/audit">Audit log</a><a href="${BASE}/status">Status</a></nav>
<div class="who"><span>${person.principal} (${person.role})</span>${postButton(ctx, `${BASE}/logout`, {}, 'Log out')}</div>`;
  const flash =
    ctx.flash === undefined
      ? ''
      : markup`<p class="flash ${ctx.flash.kind}" role="${ctx.flash.kind === 'error' ? 'alert' : 'status'}">${ctx.flash.text}</p>`;
  return markup`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">${meta ?? ''}
<title>${title} · SPIKE console</title><link rel="stylesheet" href="${BASE}/style.css"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header><span class="brand">SPIKE</span>${nav}</header>
<main id="main">${flash}<h1>${title}</h1>
${body}
</main></body></html>
`.text;
}

/** A page that moves the browser on without script (same-site, so the Strict cookie goes along). */
export function continuePage(ctx: PageContext, title: string, to: string, text: string): string {
  return layout(
    ctx,
    title,
    markup`<p>${text} <a href="${to}" id="continue">Continue</a>.</p>`,
    markup`<meta http-equiv="refresh" content="0;url=${to}">`,
  );
}

/** Words for a wire error code, with the code itself. */
export function describeError(status: number, body: unknown): string {
  const code =
    typeof body === 'object' && body !== null && typeof (body as { err?: unknown }).err === 'string'
      ? (body as { err: string }).err
      : '';
  const words = isErrorCode(code) ? ERROR_CODES[code].summary : 'The server refused the request.';
  const detail =
    typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? ` ${(body as { message: string }).message}`
      : '';
  return `${words}${detail} (HTTP ${status}${code === '' ? '' : `, ${code}`})`;
}

export function errorPage(ctx: PageContext, title: string, text: string): string {
  const back =
    ctx.person === undefined ? '' : markup`<p><a href="${BASE}/secrets">Back to the secrets</a></p>`;
  return layout(ctx, title, markup`<p>${text}</p>${back}`);
}

/** The page for a person the policies grant nothing (or nothing here). */
export function forbiddenPage(ctx: PageContext, what: string): string {
  const person = ctx.person;
  const groups = person === undefined || person.groups.length === 0 ? 'no groups' : person.groups.join(', ');
  return layout(
    ctx,
    'Not allowed',
    markup`<p>You are logged in as <strong>${person?.principal ?? ''}</strong> (${groups}), and no policy lets you ${what}.</p>
<p>Ask an administrator for a policy that names you or one of your groups, then log out and in again.</p>`,
  );
}

export function loggedOutPage(): string {
  return layout(
    {},
    'Logged out',
    markup`<p>You are logged out of the console and of your identity provider.</p><p><a href="${BASE}/login">Log in again</a></p>`,
  );
}

// --- secrets ---------------------------------------------------------------------------------

interface TreeNode {
  readonly children: Map<string, TreeNode>;
  /** Set when a secret lives exactly at this node. */
  path?: string;
}

function buildTree(paths: readonly string[]): TreeNode {
  const root: TreeNode = { children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const part of path.split('/')) {
      let child = node.children.get(part);
      if (child === undefined) {
        child = { children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    }
    node.path = path;
  }
  return root;
}

function renderTree(node: TreeNode, root: boolean): SafeHtml {
  const names = [...node.children.keys()].sort();
  const items = names.map((name) => {
    const child = node.children.get(name) as TreeNode;
    const link =
      child.path === undefined
        ? ''
        : markup`<a href="${BASE}/secret${query({ path: child.path })}">${name}</a>`;
    if (child.children.size === 0) return markup`<li>${link}</li>`;
    const label = child.path === undefined ? markup`${name}/` : link;
    return markup`<li><details open><summary>${label}</summary>${renderTree(child, false)}</details></li>`;
  });
  return markup`<ul class="tree${root ? ' root' : ''}">${items}</ul>`;
}

/** A GET form that opens a secret by its path (for people who may read paths they may not list). */
function openByPath(): SafeHtml {
  return markup`<form class="filters" method="get" action="${BASE}/secret"><label>Secret path<input name="path" required autocomplete="off" spellcheck="false"></label><button type="submit">Open</button></form>`;
}

/** The secrets page of a person no policy lets list every path: they may still open one they know. */
export function secretsUnlistedPage(ctx: PageContext): string {
  const person = ctx.person;
  const groups = person === undefined || person.groups.length === 0 ? 'no groups' : person.groups.join(', ');
  return layout(
    ctx,
    'Secrets',
    markup`<p class="flash error" role="alert">You are logged in as <strong>${person?.principal ?? ''}</strong> (${groups}), and no policy lets you list secrets.</p>
<p>If a policy gives you a path, open it by its path. Otherwise ask an administrator for a policy that names you or one of your groups, then log out and in again.</p>
${openByPath()}`,
  );
}

export function secretsPage(ctx: PageContext, paths: readonly string[], damaged: number): string {
  const tree =
    paths.length === 0
      ? markup`<p class="muted">No secrets you may list.</p>`
      : renderTree(buildTree(paths), true);
  const warn =
    damaged > 0
      ? markup`<p class="flash error">${damaged} damaged secret rows are not listed (see the operator guide).</p>`
      : '';
  return layout(
    ctx,
    'Secrets',
    markup`<p><a href="${BASE}/secret/new">New secret</a></p>${openByPath()}${tree}${warn}`,
  );
}

/** Key and value fields for a new version. */
function valueFields(rows: number, entries: readonly (readonly [string, string])[] = []): SafeHtml {
  const list: SafeHtml[] = [];
  for (let i = 0; i < Math.max(rows, entries.length); i += 1) {
    const [k, v] = entries[i] ?? ['', ''];
    list.push(
      markup`<div class="row"><label>Key ${i + 1}<input name="key" value="${k}" autocomplete="off" spellcheck="false"></label><label>Value ${i + 1}<textarea name="value" autocomplete="off" spellcheck="false">${v}</textarea></label></div>`,
    );
  }
  return markup`${list}`;
}

export function newSecretPage(
  ctx: PageContext,
  rows: number,
  form?: { path: string; entries: [string, string][] },
): string {
  return layout(
    ctx,
    'New secret',
    markup`<form class="stack" method="post" action="${BASE}/secret/put">${csrfField(ctx)}
<label>Path<input name="path" required value="${form?.path ?? ''}" autocomplete="off" spellcheck="false"></label>
${valueFields(rows, form?.entries)}
<p><a href="${BASE}/secret/new${query({ rows: rows + 4 })}">More fields</a></p>
<button type="submit">Save</button></form>`,
  );
}

export interface RevealedValues {
  readonly version: number;
  readonly data: Readonly<Record<string, string>>;
}

export function secretPage(
  ctx: PageContext,
  path: string,
  meta: SecretMetadataResponse,
  rows: number,
  revealed?: RevealedValues,
): string {
  const m = meta.metadata;
  const versions = Object.values(meta.versions ?? {}).sort((a, b) => b.version - a.version);
  const current = m?.currentVersion ?? 0;
  const here = `${BASE}/secret${query({ path })}`;
  let shown: SafeHtml | '' = '';
  if (revealed !== undefined) {
    const entries = Object.entries(revealed.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const rowsHtml = entries.map(
      ([k, v]) => markup`<tr><td class="path">${k}</td><td class="value">${v}</td></tr>`,
    );
    shown = markup`<section aria-labelledby="values"><h2 id="values">Values of version ${revealed.version}</h2>
<div class="scroll"><table id="revealed"><thead><tr><th scope="col">Key</th><th scope="col">Value</th></tr></thead><tbody>${rowsHtml}</tbody></table></div>
<p><a href="${here}" id="hide">Hide values</a></p></section>`;
  }
  const versionRows = versions.map((v) => {
    const live = v.deletedTime === null;
    const actions = live
      ? markup`${postButton(ctx, `${BASE}/secret/reveal`, { path, version: v.version }, `Reveal version ${v.version}`)} ${postButton(ctx, `${BASE}/secret/delete`, { path, version: v.version }, `Delete version ${v.version}`, true)}`
      : postButton(
          ctx,
          `${BASE}/secret/undelete`,
          { path, version: v.version },
          `Undelete version ${v.version}`,
        );
    const label = v.version === current ? ' (current)' : '';
    return markup`<tr><td>${v.version}${label}</td><td>${v.createdTime}</td><td>${v.deletedTime ?? ''}</td><td>${actions}</td></tr>`;
  });
  const body = markup`<dl class="kv"><dt>Path</dt><dd class="path">${path}</dd>
<dt>Current version</dt><dd>${current === 0 ? 'none (every version deleted)' : current}</dd>
<dt>Oldest version</dt><dd>${m?.oldestVersion ?? ''}</dd><dt>Created</dt><dd>${m?.createdTime ?? ''}</dd>
<dt>Updated</dt><dd>${m?.updatedTime ?? ''}</dd><dt>Versions kept</dt><dd>${m?.maxVersions ?? ''}</dd></dl>
${shown}
<h2>Versions</h2>
<div class="scroll"><table><thead><tr><th scope="col">Version</th><th scope="col">Created</th><th scope="col">Deleted</th><th scope="col">Actions</th></tr></thead><tbody>${versionRows}</tbody></table></div>
<h2>New version</h2>
<p class="muted">A new version holds exactly the keys given here.</p>
<form class="stack" method="post" action="${BASE}/secret/put">${csrfField(ctx)}<input type="hidden" name="path" value="${path}">
${valueFields(rows)}
<p><a href="${BASE}/secret${query({ path, rows: rows + 4 })}">More fields</a></p>
<button type="submit">Save new version</button></form>`;
  return layout(ctx, `Secret ${path}`, body);
}

// --- policies --------------------------------------------------------------------------------

export interface PolicyForm {
  readonly name: string;
  readonly spiffeidPattern: string;
  readonly pathPattern: string;
  readonly permissions: readonly string[];
  readonly people: string;
  readonly groups: string;
  readonly workloadsOnly: boolean;
  /** The approval rule (ADR 0042): how many approvals ('' = no rule), and who may give them. */
  readonly approvalRequired: string;
  readonly approverGroups: string;
  readonly approverPeople: string;
  /** Which operations need approval; none ticked = the policy's own permissions. */
  readonly approvalPermissions: readonly string[];
  /** Seconds; '' = Nexus's default. */
  readonly grantTtlSeconds: string;
  readonly requestTtlSeconds: string;
}

export const EMPTY_POLICY_FORM: PolicyForm = Object.freeze({
  name: '',
  spiffeidPattern: '',
  pathPattern: '',
  permissions: [],
  people: '',
  groups: '',
  workloadsOnly: false,
  approvalRequired: '',
  approverGroups: '',
  approverPeople: '',
  approvalPermissions: [],
  grantTtlSeconds: '',
  requestTtlSeconds: '',
});

/** The permissions an approval rule can gate. */
const APPROVAL_GATED = ['read', 'write', 'sign', 'decrypt'] as const;

export function policiesPage(
  ctx: PageContext,
  policies: readonly { id: string; name: string }[],
  damaged: number,
): string {
  const sorted = [...policies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rows = sorted.map(
    (p) =>
      markup`<tr><td class="path"><a href="${BASE}/policy${query({ name: p.name })}">${p.name}</a></td><td class="path">${p.id}</td></tr>`,
  );
  const table =
    sorted.length === 0
      ? markup`<p class="muted">No policies.</p>`
      : markup`<div class="scroll"><table><thead><tr><th scope="col">Name</th><th scope="col">ID</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  const warn =
    damaged > 0
      ? markup`<p class="flash error">${damaged} damaged policy rows grant nothing and are not listed.</p>`
      : '';
  return layout(ctx, 'Policies', markup`<p><a href="${BASE}/policy/new">New policy</a></p>${table}${warn}`);
}

export function policyPage(
  ctx: PageContext,
  form: PolicyForm,
  existing: { id: string; createdAt: string; updatedAt: string } | undefined,
  error?: string,
): string {
  const title = existing === undefined ? 'New policy' : `Policy ${form.name}`;
  const errorBox =
    error === undefined ? '' : markup`<p class="flash error" role="alert" id="policy-error">${error}</p>`;
  const about =
    existing === undefined
      ? ''
      : markup`<dl class="kv"><dt>ID</dt><dd class="path">${existing.id}</dd><dt>Created</dt><dd>${existing.createdAt}</dd><dt>Updated</dt><dd>${existing.updatedAt}</dd></dl>`;
  const checks = PERMISSIONS.map((p) => {
    const on = form.permissions.includes(p) ? markup` checked` : '';
    return markup`<label class="check"><input type="checkbox" name="permissions" value="${p}"${on}>${p}</label>`;
  });
  const gated = APPROVAL_GATED.map((p) => {
    const on = form.approvalPermissions.includes(p) ? markup` checked` : '';
    return markup`<label class="check"><input type="checkbox" name="approvalPermissions" value="${p}"${on}>${p}</label>`;
  });
  const readonly = existing === undefined ? '' : markup` readonly`;
  const wo = form.workloadsOnly ? markup` checked` : '';
  const del =
    existing === undefined
      ? ''
      : markup`<h2>Delete</h2>${postButton(ctx, `${BASE}/policy/delete`, { name: form.name }, `Delete policy ${form.name}`, true)}`;
  const body = markup`${errorBox}${about}
<form class="stack" method="post" action="${BASE}/policy/save">${csrfField(ctx)}
<label>Name<input name="name" required value="${form.name}"${readonly} autocomplete="off" spellcheck="false"></label>
<label>SPIFFE ID pattern (workloads)<input name="spiffeidPattern" value="${form.spiffeidPattern}" autocomplete="off" spellcheck="false"></label>
<label>Path pattern<input name="pathPattern" required value="${form.pathPattern}" autocomplete="off" spellcheck="false"></label>
<fieldset><legend>Permissions</legend>${checks}</fieldset>
<label>People (one <code>user:name</code> per line)<textarea name="people" autocomplete="off" spellcheck="false">${form.people}</textarea></label>
<label>Groups (one per line)<textarea name="groups" autocomplete="off" spellcheck="false">${form.groups}</textarea></label>
<label class="check"><input type="checkbox" name="workloadsOnly" value="true"${wo}>Workloads only: no person reads values under this path pattern</label>
<fieldset id="approval"><legend>Multi-party approval (optional)</legend>
<p class="muted">With a number here, the operations below on matching paths need that many approvals by other people first, for every caller (admins and workloads too).</p>
<label>Approvals required (1–9; empty: no approval rule)<input name="approvalRequired" type="number" min="1" max="9" value="${form.approvalRequired}"></label>
<label>Approver groups (one per line)<textarea name="approverGroups" autocomplete="off" spellcheck="false">${form.approverGroups}</textarea></label>
<label>Approver people (one <code>user:name</code> per line)<textarea name="approverPeople" autocomplete="off" spellcheck="false">${form.approverPeople}</textarea></label>
<fieldset><legend>Operations that need approval (none ticked: the policy's permissions)</legend>${gated}</fieldset>
<label>Grant valid for (seconds; empty: 900)<input name="grantTtlSeconds" type="number" min="1" max="86400" value="${form.grantTtlSeconds}"></label>
<label>Requests wait for (seconds; empty: 86400)<input name="requestTtlSeconds" type="number" min="1" max="604800" value="${form.requestTtlSeconds}"></label>
</fieldset>
<button type="submit">Save policy</button></form>
${del}`;
  return layout(ctx, title, body);
}

// --- audit -----------------------------------------------------------------------------------

export interface AuditFilters {
  readonly principal: string;
  readonly path: string;
  readonly decision: string;
  readonly from: string;
  readonly to: string;
  readonly limit: string;
}

const DECISIONS = ['', 'allowed', 'denied', 'none'] as const;

function cell(record: Readonly<Record<string, unknown>>, key: string): string {
  const v = record[key];
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(String).join(', ');
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? '';
}

export function auditPage(
  ctx: PageContext,
  filters: AuditFilters,
  records: readonly Readonly<Record<string, unknown>>[] | undefined,
  error?: string,
): string {
  const options = DECISIONS.map((d) => {
    const sel = filters.decision === d ? markup` selected` : '';
    return markup`<option value="${d}"${sel}>${d === '' ? 'any' : d}</option>`;
  });
  const rows = (records ?? []).map((r) => {
    const action = cell(r, 'action') === '' ? '' : `?action=${cell(r, 'action')}`;
    return markup`<tr><td>${cell(r, 'time')}</td><td>${cell(r, 'door')}</td><td class="path">${cell(r, 'principal') || cell(r, 'caller')}</td><td>${cell(r, 'groups')}</td><td class="path">${cell(r, 'route')}${action}</td><td class="path">${cell(r, 'path') || cell(r, 'policy')}</td><td>${cell(r, 'decision')}</td><td>${cell(r, 'status')} ${cell(r, 'err')}</td></tr>`;
  });
  let results: SafeHtml | '' = '';
  if (records !== undefined && records.length === 0) results = markup`<p class="muted">No records match.</p>`;
  if (records !== undefined && records.length > 0) {
    results = markup`<div class="scroll"><table id="audit"><thead><tr><th scope="col">Time</th><th scope="col">Door</th><th scope="col">Caller</th><th scope="col">Groups</th><th scope="col">Route</th><th scope="col">Path or policy</th><th scope="col">Decision</th><th scope="col">Status</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  }
  const errorBox = error === undefined ? '' : markup`<p class="flash error" role="alert">${error}</p>`;
  const body = markup`<form class="filters" method="get" action="${BASE}/audit">
<label>Principal<input name="principal" value="${filters.principal}" placeholder="user:alice or spiffe://…" autocomplete="off" spellcheck="false"></label>
<label>Path<input name="path" value="${filters.path}" autocomplete="off" spellcheck="false"></label>
<label>Decision<select name="decision">${options}</select></label>
<label>From (UTC)<input name="from" type="datetime-local" step="1" value="${filters.from}"></label>
<label>To (UTC)<input name="to" type="datetime-local" step="1" value="${filters.to}"></label>
<label>At most<input name="limit" type="number" min="1" max="1000" value="${filters.limit}"></label>
<button type="submit">Filter</button></form>
${errorBox}${results}`;
  return layout(ctx, 'Audit log', body);
}

// --- status ----------------------------------------------------------------------------------

export function statusPage(
  ctx: PageContext,
  whoami: Readonly<Record<string, unknown>> | undefined,
  status: Readonly<Record<string, unknown>> | undefined,
  statusError: string | undefined,
): string {
  const person = ctx.person;
  const groups = person === undefined || person.groups.length === 0 ? 'none' : person.groups.join(', ');
  const door = whoami === undefined ? '' : markup`<dt>Door</dt><dd>${cell(whoami, 'door')}</dd>`;
  let nexus: SafeHtml;
  if (status === undefined) {
    nexus = markup`<p class="flash error" role="alert">${statusError ?? 'Status not available.'}</p>`;
  } else {
    const keepers = Array.isArray(status.keepers) ? (status.keepers as Record<string, unknown>[]) : [];
    const keeperRows = keepers.map(
      (k) => markup`<tr><td class="path">${cell(k, 'url')}</td><td>${cell(k, 'state')}</td></tr>`,
    );
    const keeperTable =
      keepers.length === 0
        ? markup`<p class="muted">No keepers configured.</p>`
        : markup`<div class="scroll"><table id="keepers"><thead><tr><th scope="col">Keeper</th><th scope="col">Last seen</th></tr></thead><tbody>${keeperRows}</tbody></table></div>`;
    nexus = markup`<dl class="kv" id="nexus"><dt>Version</dt><dd>${cell(status, 'version')}</dd><dt>Ready</dt><dd>${cell(status, 'ready')}</dd>
<dt>Backend</dt><dd>${cell(status, 'backend')}</dd><dt>Root key</dt><dd>${cell(status, 'rootKey')}</dd>
<dt>Shares</dt><dd>${cell(status, 'shares')} (threshold ${cell(status, 'threshold')})</dd></dl>
<h2>Keepers</h2>${keeperTable}`;
  }
  const body = markup`<h2>You</h2>
<dl class="kv"><dt>Principal</dt><dd>${person?.principal ?? ''}</dd><dt>Groups</dt><dd>${groups}</dd>
<dt>Role</dt><dd>${person?.role ?? ''}</dd><dt>Issuer</dt><dd>${person?.issuer ?? ''}</dd>${door}</dl>
<h2>Nexus</h2>
${nexus}`;
  return layout(ctx, 'Status', body);
}
