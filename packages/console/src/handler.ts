/**
 * The console's HTTP handler for everything under `/console/` on the people listener: login and
 * logout through the identity provider, then pages (GET) and form posts (POST, then a redirect
 * to a GET page). Every POST needs the session cookie, a same-origin `Origin` header and the
 * session's CSRF token. Every API call goes through the injected `callAsPerson`, so the console
 * has no authority of its own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  APPROVAL_APPROVE,
  APPROVAL_CANCEL,
  APPROVAL_DENY,
  APPROVAL_GET,
  APPROVAL_LIST,
  APPROVAL_REQUEST,
  AUDIT_LIST,
  AUTH_WHOAMI,
  OPERATOR_STATUS,
  POLICY_DELETE,
  POLICY_GET,
  POLICY_LIST,
  POLICY_UPSERT,
  SECRET_DELETE,
  SECRET_GET,
  SECRET_LIST,
  SECRET_METADATA,
  SECRET_PUT,
  SECRET_UNDELETE,
  validateApprovalId,
  type Action,
  type AuditListResponse,
  type PolicyListResponse,
  type PolicyReadResponse,
  type SecretGetResponse,
  type SecretListResponse,
  type SecretMetadataResponse,
} from '@spike-ts/protocol';
import type { OidcRelyingParty } from './oidc.ts';
import {
  auditPage,
  BASE,
  continuePage,
  describeError,
  EMPTY_POLICY_FORM,
  errorPage,
  forbiddenPage,
  layout,
  loggedOutPage,
  newSecretPage,
  policiesPage,
  policyPage,
  secretPage,
  secretsPage,
  secretsUnlistedPage,
  statusPage,
  type AuditFilters,
  type PageContext,
  type PolicyForm,
  type RevealedValues,
} from './pages.ts';
import type { AuthenticatePerson, CallAsPerson, CallResult } from './port.ts';
import {
  approvalRequiredPage,
  operationText,
  REQUEST_OPERATIONS,
  requestFormPage,
  requestPage,
  requestsPage,
  type RequestForm,
  type RequestView,
} from './request-pages.ts';
import { randomToken, SessionTable, tokensEqual, type Session, type SessionLimits } from './session.ts';
import { STYLESHEET } from './style.ts';
import { markup, query } from './html.ts';

/** The session cookie (Strict) and the login-in-progress cookie (Lax: it must survive the IdP's redirect back). */
export const SESSION_COOKIE = '__Host-spike-console';
export const LOGIN_COOKIE = '__Host-spike-console-login';

/** Largest form body accepted (a new secret version with its values). */
export const MAX_FORM_BYTES = 256 * 1024;
/** Fields of a new version beyond these are not offered. */
const MAX_ROWS = 64;

/** Headers on every console response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
});

export interface ConsoleOptions {
  /** The people listener as browsers reach it, e.g. `https://nexus.example.org:8554`. */
  readonly publicBaseUrl: string;
  readonly oidc: OidcRelyingParty;
  readonly authenticate: AuthenticatePerson;
  readonly callAsPerson: CallAsPerson;
  readonly sessions?: Partial<SessionLimits>;
  readonly now?: () => number;
  /** Operational log line (never a token or value). */
  readonly log?: (line: string) => void;
}

export interface Console {
  /** Answers a request whose path starts with `/console`. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  readonly sessions: SessionTable;
  /** `<public base>/console/callback`: register it at the identity provider. */
  readonly redirectUri: string;
  /** `<public base>/console/logged-out`: register it as a post-logout redirect URI. */
  readonly postLogoutRedirectUri: string;
}

/** The callback and post-logout URLs for a public base URL. */
export function consoleUrls(publicBaseUrl: string): {
  origin: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
} {
  const base = new URL(publicBaseUrl);
  if (base.protocol !== 'https:')
    throw new Error(`console public base URL ${publicBaseUrl} must be https://`);
  return {
    origin: base.origin,
    redirectUri: `${base.origin}${BASE}/callback`,
    postLogoutRedirectUri: `${base.origin}${BASE}/logged-out`,
  };
}

class FormError extends Error {}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined || header.length > 8192) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new FormError('The form was not sent as a form.');
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_FORM_BYTES) throw new FormError('The form is too large.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new FormError('The form is too large.');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** A console page to return to after login: only our own paths. */
function safeNext(value: string | null): string {
  if (value === null || value.length > 2000) return `${BASE}/secrets`;
  if (!value.startsWith(`${BASE}/`) || value.includes('//') || value.includes('\\')) return `${BASE}/secrets`;
  return value;
}

function rowsOf(value: string | null): number {
  const n = Number(value ?? '4');
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_ROWS) : 4;
}

function versionOf(value: string | null): number {
  const n = Number(value ?? '');
  if (value === null || value === '' || !Number.isSafeInteger(n) || n < 0)
    throw new FormError('The version is not a number.');
  return n;
}

/** A whole number typed into a form field ('' stays absent; anything else goes to Nexus to refuse). */
function wholeNumber(value: string): number | string {
  return /^[0-9]{1,9}$/.test(value) ? Number(value) : value;
}

/** The policy form's approval rule as the API's `approval` field (absent when no number is given). */
function approvalOfForm(f: PolicyForm): { approval?: Record<string, unknown> } {
  if (f.approvalRequired === '') return {};
  const groups = lines(f.approverGroups);
  const people = lines(f.approverPeople);
  return {
    approval: {
      required: wholeNumber(f.approvalRequired),
      ...(groups.length === 0 ? {} : { approverGroups: groups }),
      ...(people.length === 0 ? {} : { approverPeople: people }),
      ...(f.approvalPermissions.length === 0 ? {} : { permissions: f.approvalPermissions }),
      ...(f.grantTtlSeconds === '' ? {} : { grantTtlSeconds: wholeNumber(f.grantTtlSeconds) }),
      ...(f.requestTtlSeconds === '' ? {} : { requestTtlSeconds: wholeNumber(f.requestTtlSeconds) }),
    },
  };
}

function lines(value: string | null): string[] {
  return (value ?? '')
    .split(/\r?\n|,/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `YYYY-MM-DDTHH:MM[:SS]` (a datetime-local field, read as UTC) to RFC 3339, or '' when empty. */
function utcTime(value: string, field: string): string {
  if (value === '') return '';
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value))
    throw new FormError(`${field} is not a date and time.`);
  const t = new Date(`${value.length === 16 ? `${value}:00` : value}Z`);
  if (Number.isNaN(t.getTime())) throw new FormError(`${field} is not a date and time.`);
  return t.toISOString();
}

const ok = (r: CallResult): boolean => r.status === 200;
const denied = (r: CallResult): boolean => r.status === 401 || r.status === 403;
const errCode = (r: CallResult): string =>
  typeof r.body === 'object' && r.body !== null && typeof (r.body as { err?: unknown }).err === 'string'
    ? (r.body as { err: string }).err
    : '';
/** Nexus refused an operation an approval rule covers: the caller holds no grant for it. */
const approvalRequired = (r: CallResult): boolean => r.status === 403 && errCode(r) === 'approval_required';

/** The approvals route (ours, ADR 0042): one path, an action per step. */
const APPROVAL_SPECS = {
  request: APPROVAL_REQUEST,
  approve: APPROVAL_APPROVE,
  deny: APPROVAL_DENY,
  cancel: APPROVAL_CANCEL,
  get: APPROVAL_GET,
  list: APPROVAL_LIST,
} as const;
const approvals = (step: keyof typeof APPROVAL_SPECS): { path: string; action: Action } =>
  APPROVAL_SPECS[step];

/** What an operation refused for want of approval was: for the "Request access" form. */
interface Gate {
  readonly operation: string;
  readonly target: string;
}

/** A request ID as the console accepts it in a form or a link. */
function requestIdOf(value: string | null): string {
  try {
    return validateApprovalId((value ?? '').trim());
  } catch {
    throw new FormError('That is not a request ID.');
  }
}

export function createConsole(options: ConsoleOptions): Console {
  const { origin, redirectUri, postLogoutRedirectUri } = consoleUrls(options.publicBaseUrl);
  const now = options.now ?? Date.now;
  const sessions = new SessionTable(options.sessions, now);
  const log = options.log ?? (() => undefined);
  const { oidc } = options;

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    extra: Record<string, string | string[]> = {},
  ): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', ...extra });
    res.end(body);
  };
  const redirect = (res: ServerResponse, to: string, extra: Record<string, string | string[]> = {}): void => {
    res.writeHead(303, { ...SECURITY_HEADERS, Location: to, ...extra });
    res.end();
  };
  const sessionCookie = (id: string): string =>
    `${SESSION_COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Strict`;
  const clearSession = `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
  const clearLogin = `${LOGIN_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;

  const contextOf = (session: Session): PageContext => {
    const flash = session.flash;
    session.flash = undefined;
    return { person: session.person, csrf: session.csrfToken, ...(flash === undefined ? {} : { flash }) };
  };

  /** Refreshes the access token shortly before it expires (and so the person's groups); false when that fails. */
  const keepFresh = async (session: Session): Promise<boolean> => {
    if (now() < session.tokens.accessExpiresAt - 30_000) return true;
    const refreshToken = session.tokens.refreshToken;
    if (refreshToken === undefined) return false;
    session.refreshing ??= (async () => {
      const tokens = await oidc.refresh(refreshToken);
      const person = await options.authenticate(tokens.accessToken);
      session.tokens = { ...tokens, idToken: tokens.idToken ?? session.tokens.idToken };
      session.person = person;
    })().finally(() => {
      session.refreshing = undefined;
    });
    try {
      await session.refreshing;
      return true;
    } catch {
      return false;
    }
  };

  const call = (
    session: Session,
    spec: { path: string; action: Action },
    body: unknown,
  ): Promise<CallResult> => options.callAsPerson(session.person, 'console', spec.path, spec.action, body);

  /**
   * Answers a failed API call: the "Request access" page when an approval rule needs a grant,
   * the 403 page when not allowed, otherwise the error in words.
   */
  const failed = (res: ServerResponse, session: Session, r: CallResult, what: string, gate?: Gate): void => {
    const ctx = contextOf(session);
    if (approvalRequired(r))
      return send(res, 403, approvalRequiredPage(ctx, gate?.operation ?? 'read', gate?.target ?? ''));
    if (denied(r)) return send(res, 403, forbiddenPage(ctx, what));
    if (r.status === 404)
      return send(res, 404, errorPage(ctx, 'Not found', `Nothing there. ${describeError(r.status, r.body)}`));
    send(
      res,
      r.status >= 400 && r.status < 600 ? r.status : 502,
      errorPage(ctx, 'Error', describeError(r.status, r.body)),
    );
  };

  // --- login and logout ------------------------------------------------------------------------

  const startLogin = async (res: ServerResponse, url: URL): Promise<void> => {
    const checks = { state: randomToken(), nonce: randomToken(), codeVerifier: randomToken() };
    let target: URL;
    try {
      target = await oidc.authorizationUrl(checks);
    } catch (err) {
      log(`console: the identity provider cannot be reached: ${(err as Error).message}`);
      return send(
        res,
        502,
        errorPage({}, 'Login unavailable', 'The identity provider cannot be reached. Try again later.'),
      );
    }
    const handle = sessions.startLogin({ ...checks, next: safeNext(url.searchParams.get('next')) });
    const maxAge = Math.floor(sessions.limits.pendingMs / 1000);
    redirect(res, target.href, {
      'Set-Cookie': `${LOGIN_COOKIE}=${handle}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${maxAge}`,
    });
  };

  const finishLogin = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const login = sessions.takeLogin(parseCookies(req.headers.cookie).get(LOGIN_COOKIE));
    const headers = { 'Set-Cookie': clearLogin };
    const again = markup`<a href="${BASE}/login">Log in again</a>`;
    if (login === undefined) {
      return send(
        res,
        400,
        layout({}, 'Login expired', markup`<p>This login is unknown or too old. ${again}.</p>`),
        headers,
      );
    }
    const idpError = url.searchParams.get('error');
    if (idpError !== null) {
      return send(
        res,
        400,
        errorPage(
          {},
          'Login refused',
          `The identity provider refused the login (${idpError.slice(0, 100)}).`,
        ),
        headers,
      );
    }
    let session: Session;
    let id: string;
    try {
      const tokens = await oidc.finishLogin(new URL(`${redirectUri}${url.search}`), login);
      let person;
      try {
        person = await options.authenticate(tokens.accessToken);
      } catch (err) {
        log(`console: login token not accepted: ${(err as Error).message}`);
        return send(
          res,
          403,
          errorPage(
            {},
            'Not allowed',
            'Nexus does not accept the token your identity provider issued for this console.',
          ),
          headers,
        );
      }
      ({ id, session } = sessions.create(person, tokens));
    } catch (err) {
      log(`console: login failed: ${(err as Error).message}`);
      return send(
        res,
        400,
        layout({}, 'Login failed', markup`<p>The login could not be completed. ${again}.</p>`),
        headers,
      );
    }
    log(`console: ${session.person.principal} logged in`);
    send(res, 200, continuePage({}, 'Logged in', login.next, 'You are logged in.'), {
      'Set-Cookie': [clearLogin, sessionCookie(id)],
    });
  };

  const logout = async (res: ServerResponse, session: Session): Promise<void> => {
    sessions.end(session);
    log(`console: ${session.person.principal} logged out`);
    let target: URL | undefined;
    try {
      target = await oidc.logoutUrl(session.tokens.idToken);
    } catch {
      target = undefined;
    }
    if (target === undefined) return send(res, 200, loggedOutPage(), { 'Set-Cookie': clearSession });
    // A page, not a redirect: the CSP's form-action would refuse a form post redirected to the IdP.
    send(
      res,
      200,
      continuePage({}, 'Logging out', target.href, 'Ending your session at the identity provider.'),
      {
        'Set-Cookie': clearSession,
      },
    );
  };

  // --- pages -----------------------------------------------------------------------------------

  const secretsList = async (res: ServerResponse, session: Session): Promise<void> => {
    const r = await call(session, SECRET_LIST, {});
    // Listing every path takes `list` on the system path; most people only read paths they know.
    if (denied(r)) return send(res, 403, secretsUnlistedPage(contextOf(session)));
    if (!ok(r)) return failed(res, session, r, 'list secrets');
    const body = r.body as SecretListResponse;
    send(res, 200, secretsPage(contextOf(session), body.keys ?? [], body.damagedRows ?? 0));
  };

  const secretView = async (
    res: ServerResponse,
    session: Session,
    path: string,
    rows: number,
    revealed?: RevealedValues,
  ): Promise<void> => {
    const r = await call(session, SECRET_METADATA, { path, version: 0 });
    if (!ok(r)) return failed(res, session, r, 'read this secret’s metadata');
    send(res, 200, secretPage(contextOf(session), path, r.body as SecretMetadataResponse, rows, revealed));
  };

  const policyView = async (res: ServerResponse, session: Session, name: string): Promise<void> => {
    const r = await call(session, POLICY_GET, { id: name });
    if (!ok(r)) return failed(res, session, r, 'read this policy');
    const p = r.body as PolicyReadResponse & {
      people?: unknown;
      groups?: unknown;
      workloadsOnly?: unknown;
      approval?: unknown;
    };
    const a =
      typeof p.approval === 'object' && p.approval !== null
        ? (p.approval as unknown as Record<string, unknown>)
        : {};
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
    const num = (v: unknown): string => (typeof v === 'number' ? String(v) : '');
    const form: PolicyForm = {
      name: p.name,
      spiffeidPattern: p.spiffeidPattern ?? p.spiffiedPattern,
      pathPattern: p.pathPattern,
      permissions: p.permissions ?? [],
      people: Array.isArray(p.people) ? p.people.map(String).join('\n') : '',
      groups: Array.isArray(p.groups) ? p.groups.map(String).join('\n') : '',
      workloadsOnly: p.workloadsOnly === true,
      approvalRequired: num(a['required']),
      approverGroups: strings(a['approverGroups']).join('\n'),
      approverPeople: strings(a['approverPeople']).join('\n'),
      approvalPermissions: strings(a['permissions']),
      grantTtlSeconds: num(a['grantTtlSeconds']),
      requestTtlSeconds: num(a['requestTtlSeconds']),
    };
    send(
      res,
      200,
      policyPage(contextOf(session), form, { id: p.id, createdAt: p.createdAt, updatedAt: p.updatedAt }),
    );
  };

  const auditView = async (res: ServerResponse, session: Session, url: URL): Promise<void> => {
    const q = url.searchParams;
    const filters: AuditFilters = {
      principal: (q.get('principal') ?? '').slice(0, 600),
      path: (q.get('path') ?? '').slice(0, 600),
      decision: ['allowed', 'denied', 'none'].includes(q.get('decision') ?? '')
        ? (q.get('decision') as string)
        : '',
      from: (q.get('from') ?? '').slice(0, 40),
      to: (q.get('to') ?? '').slice(0, 40),
      limit: /^\d{1,4}$/.test(q.get('limit') ?? '') ? (q.get('limit') as string) : '100',
    };
    let body: Record<string, unknown>;
    try {
      body = {
        ...(filters.principal === '' ? {} : { principal: filters.principal }),
        ...(filters.path === '' ? {} : { path: filters.path }),
        ...(filters.decision === '' ? {} : { decision: filters.decision }),
        ...(filters.from === '' ? {} : { from: utcTime(filters.from, 'From') }),
        ...(filters.to === '' ? {} : { to: utcTime(filters.to, 'To') }),
        limit: Number(filters.limit),
      };
    } catch (err) {
      return send(res, 400, auditPage(contextOf(session), filters, undefined, (err as Error).message));
    }
    const r = await call(session, AUDIT_LIST, body);
    if (denied(r)) return failed(res, session, r, 'read the audit log');
    if (!ok(r))
      return send(
        res,
        r.status === 400 ? 400 : 502,
        auditPage(contextOf(session), filters, undefined, describeError(r.status, r.body)),
      );
    const b = r.body as AuditListResponse;
    const records = (b.records ?? []) as unknown as Record<string, unknown>[];
    const more = b.truncated
      ? 'More records match than are shown: narrow the filters or raise the limit.'
      : undefined;
    send(res, 200, auditPage(contextOf(session), filters, records, more));
  };

  const statusView = async (res: ServerResponse, session: Session): Promise<void> => {
    const [who, status] = await Promise.all([
      call(session, AUTH_WHOAMI, {}),
      call(session, OPERATOR_STATUS, {}),
    ]);
    const whoBody = ok(who) ? (who.body as Record<string, unknown>) : undefined;
    if (ok(status))
      return send(
        res,
        200,
        statusPage(contextOf(session), whoBody, status.body as Record<string, unknown>, undefined),
      );
    const why = denied(status)
      ? 'Only administrators see the state of Nexus.'
      : describeError(status.status, status.body);
    send(res, 200, statusPage(contextOf(session), whoBody, undefined, why));
  };

  // --- approval requests (ADR 0042) ---------------------------------------------------------------

  const requestsOf = (r: CallResult): RequestView[] => {
    const list = (r.body as { requests?: unknown }).requests;
    return Array.isArray(list) ? (list as RequestView[]) : [];
  };

  const requestsView = async (res: ServerResponse, session: Session): Promise<void> => {
    const [pending, mine] = await Promise.all([
      call(session, approvals('list'), { status: 'pending' }),
      call(session, approvals('list'), { mine: true }),
    ]);
    if (!ok(pending)) return failed(res, session, pending, 'see approval requests');
    if (!ok(mine)) return failed(res, session, mine, 'see your approval requests');
    const me = session.person.principal;
    const toDecide = requestsOf(pending).filter(
      (v) => v.requester !== me && ![...v.approvals, ...v.denials].some((x) => x.principal === me),
    );
    send(res, 200, requestsPage(contextOf(session), toDecide, requestsOf(mine)));
  };

  const requestView = async (res: ServerResponse, session: Session, rawId: string | null): Promise<void> => {
    let id: string;
    try {
      id = requestIdOf(rawId);
    } catch (err) {
      return send(res, 400, errorPage(contextOf(session), 'Bad link', (err as Error).message));
    }
    const r = await call(session, approvals('get'), { id });
    if (!ok(r)) return failed(res, session, r, 'see this request');
    send(res, 200, requestPage(contextOf(session), (r.body as { request: RequestView }).request));
  };

  /** Why Nexus refused a decision, in words, from the request and the person. */
  const refusalText = (v: RequestView, me: string, verb: string, r: CallResult): string => {
    if (v.status !== 'pending') return `Not done: this request is ${v.status}, no longer pending.`;
    if (verb === 'cancel')
      return v.requester === me
        ? `Not cancelled: ${describeError(r.status, r.body)}`
        : `Not cancelled: only the requester (${v.requester}) cancels a request.`;
    if (v.requester === me)
      return `You cannot ${verb} your own request: it needs ${v.required} approval(s) by people other than the requester.`;
    const mine = (list: RequestView['approvals']) => list.some((x) => x.principal === me);
    if (mine(v.approvals) || mine(v.denials))
      return `You already ${mine(v.approvals) ? 'approved' : 'denied'} this request: each approver counts once.`;
    if (denied(r))
      return `You may not ${verb} this request: no approval rule covering ${operationText(v.operation, v.target)} names you or one of your groups.`;
    return `Not done: ${describeError(r.status, r.body)}`;
  };

  const decide = async (
    res: ServerResponse,
    session: Session,
    verb: 'approve' | 'deny' | 'cancel',
    form: URLSearchParams,
  ): Promise<void> => {
    const id = requestIdOf(form.get('id'));
    const comment = (form.get('comment') ?? '').trim();
    const r = await call(
      session,
      approvals(verb),
      verb === 'cancel' || comment === '' ? { id } : { id, comment },
    );
    const back = `${BASE}/request${query({ id })}`;
    if (ok(r)) {
      const v = (r.body as { request: RequestView }).request;
      session.flash = {
        kind: 'ok',
        text:
          verb === 'cancel'
            ? 'Cancelled your request.'
            : verb === 'deny'
              ? 'Denied the request; it has ended.'
              : v.status === 'approved'
                ? `Approved (${v.approvals.length} of ${v.required}): the request is approved.`
                : `Approved (${v.approvals.length} of ${v.required}); it waits for ${v.required - v.approvals.length} more.`,
      };
      return redirect(res, back);
    }
    const g = await call(session, approvals('get'), { id });
    if (!ok(g)) return failed(res, session, r, `${verb} this request`);
    const v = (g.body as { request: RequestView }).request;
    send(
      res,
      denied(r) ? 403 : 400,
      requestPage(contextOf(session), v, refusalText(v, session.person.principal, verb, r)),
    );
  };

  const fileRequest = async (res: ServerResponse, session: Session, form: URLSearchParams): Promise<void> => {
    const operation = form.get('operation') ?? '';
    const entered: RequestForm = {
      operation,
      target: operation === 'policy' ? '' : (form.get('target') ?? '').trim(),
      reason: form.get('reason') ?? '',
    };
    if (!(REQUEST_OPERATIONS as readonly string[]).includes(operation))
      return send(res, 400, requestFormPage(contextOf(session), entered, 'Choose an operation.'));
    if (entered.reason.trim() === '')
      return send(
        res,
        400,
        requestFormPage(contextOf(session), entered, 'Give a reason: the approvers read it.'),
      );
    const r = await call(session, approvals('request'), entered);
    if (denied(r)) return failed(res, session, r, operationText(entered.operation, entered.target));
    if (!ok(r)) {
      const why =
        r.status === 400
          ? `Not filed: ${describeError(r.status, r.body)} Nexus refuses a request for an operation no approval rule covers, a target that is not a secret path or key name, a reason over 1000 characters, or one more open request than it keeps.`
          : `Not filed: ${describeError(r.status, r.body)}`;
      return send(res, r.status === 400 ? 400 : 502, requestFormPage(contextOf(session), entered, why));
    }
    const v = (r.body as { request: RequestView }).request;
    session.flash = {
      kind: 'ok',
      text: `Request filed: it needs ${v.required} approval(s) by other people. Share this page with an approver.`,
    };
    redirect(res, `${BASE}/request${query({ id: v.id })}`);
  };

  const get = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    session: Session,
  ): Promise<void> => {
    const q = url.searchParams;
    switch (url.pathname) {
      case `${BASE}/secrets`:
        return secretsList(res, session);
      case `${BASE}/secret`:
        return secretView(res, session, q.get('path') ?? '', rowsOf(q.get('rows')));
      case `${BASE}/secret/new`:
        return send(res, 200, newSecretPage(contextOf(session), rowsOf(q.get('rows'))));
      case `${BASE}/policies`: {
        const r = await call(session, POLICY_LIST, {});
        if (!ok(r)) return failed(res, session, r, 'list policies');
        const body = r.body as PolicyListResponse;
        return send(res, 200, policiesPage(contextOf(session), body.policies ?? [], body.damagedRows ?? 0));
      }
      case `${BASE}/policy`:
        return policyView(res, session, q.get('name') ?? '');
      case `${BASE}/policy/new`:
        return send(res, 200, policyPage(contextOf(session), EMPTY_POLICY_FORM, undefined));
      case `${BASE}/audit`:
        return auditView(res, session, url);
      case `${BASE}/status`:
        return statusView(res, session);
      case `${BASE}/requests`:
        return requestsView(res, session);
      case `${BASE}/request`:
        return requestView(res, session, q.get('id'));
      case `${BASE}/request/new`: {
        const op = q.get('operation') ?? 'read';
        const operation = (REQUEST_OPERATIONS as readonly string[]).includes(op) ? op : 'read';
        return send(
          res,
          200,
          requestFormPage(contextOf(session), {
            operation,
            target: (q.get('target') ?? '').slice(0, 1024),
            reason: '',
          }),
        );
      }
      default:
        void req;
        return send(res, 404, errorPage(contextOf(session), 'Not found', 'There is no such console page.'));
    }
  };

  // --- form posts ------------------------------------------------------------------------------

  const post = async (
    res: ServerResponse,
    url: URL,
    session: Session,
    form: URLSearchParams,
  ): Promise<void> => {
    const path = form.get('path') ?? '';
    const back = (p: string): string => `${BASE}/secret?path=${encodeURIComponent(p)}`;
    switch (url.pathname) {
      case `${BASE}/logout`:
        return logout(res, session);
      case `${BASE}/secret/reveal`: {
        const version = versionOf(form.get('version'));
        const r = await call(session, SECRET_GET, { path, version });
        if (!ok(r))
          return failed(res, session, r, 'read this secret’s values', { operation: 'read', target: path });
        const data = (r.body as SecretGetResponse).data ?? {};
        return secretView(res, session, path, 4, { version, data });
      }
      case `${BASE}/secret/put`: {
        const keys = form.getAll('key');
        const values = form.getAll('value');
        const entries: [string, string][] = [];
        keys.forEach((k, i) => {
          if (k.trim() !== '') entries.push([k.trim(), values[i] ?? '']);
        });
        if (entries.length === 0) {
          return send(
            res,
            400,
            newSecretPage(
              { ...contextOf(session), flash: { kind: 'error', text: 'Give at least one key.' } },
              4,
              { path, entries },
            ),
          );
        }
        const r = await call(session, SECRET_PUT, { path, values: Object.fromEntries(entries) });
        if (denied(r))
          return failed(res, session, r, 'write this secret', { operation: 'write', target: path });
        if (!ok(r)) {
          const flash = { kind: 'error' as const, text: `Not saved: ${describeError(r.status, r.body)}` };
          return send(
            res,
            r.status === 400 ? 400 : 502,
            newSecretPage({ ...contextOf(session), flash }, 4, { path, entries }),
          );
        }
        session.flash = { kind: 'ok', text: 'Saved a new version.' };
        return redirect(res, back(path));
      }
      case `${BASE}/secret/delete`:
      case `${BASE}/secret/undelete`: {
        const version = versionOf(form.get('version'));
        const del = url.pathname.endsWith('/delete');
        const r = await call(session, del ? SECRET_DELETE : SECRET_UNDELETE, { path, versions: [version] });
        if (!ok(r))
          return failed(res, session, r, del ? 'delete this secret' : 'undelete this secret', {
            operation: 'write',
            target: path,
          });
        session.flash = { kind: 'ok', text: `${del ? 'Deleted' : 'Undeleted'} version ${version}.` };
        return redirect(res, back(path));
      }
      case `${BASE}/policy/save`: {
        const people = lines(form.get('people'));
        const groups = lines(form.get('groups'));
        const workloadsOnly = form.get('workloadsOnly') === 'true';
        const entered: PolicyForm = {
          name: form.get('name') ?? '',
          spiffeidPattern: form.get('spiffeidPattern') ?? '',
          pathPattern: form.get('pathPattern') ?? '',
          permissions: form.getAll('permissions'),
          people: people.join('\n'),
          groups: groups.join('\n'),
          workloadsOnly,
          approvalRequired: (form.get('approvalRequired') ?? '').trim(),
          approverGroups: lines(form.get('approverGroups')).join('\n'),
          approverPeople: lines(form.get('approverPeople')).join('\n'),
          approvalPermissions: form.getAll('approvalPermissions'),
          grantTtlSeconds: (form.get('grantTtlSeconds') ?? '').trim(),
          requestTtlSeconds: (form.get('requestTtlSeconds') ?? '').trim(),
        };
        const r = await call(session, POLICY_UPSERT, {
          name: entered.name,
          spiffeidPattern: entered.spiffeidPattern,
          pathPattern: entered.pathPattern,
          permissions: entered.permissions,
          ...(people.length === 0 ? {} : { people }),
          ...(groups.length === 0 ? {} : { groups }),
          ...(workloadsOnly ? { workloadsOnly } : {}),
          ...approvalOfForm(entered),
        });
        if (denied(r)) return failed(res, session, r, 'change policies', { operation: 'policy', target: '' });
        if (!ok(r)) {
          const status = r.status === 400 ? 400 : 502;
          return send(
            res,
            status,
            policyPage(
              contextOf(session),
              entered,
              undefined,
              `Not saved: ${describeError(r.status, r.body)}`,
            ),
          );
        }
        session.flash = { kind: 'ok', text: `Saved policy ${entered.name}.` };
        return redirect(res, `${BASE}/policy?name=${encodeURIComponent(entered.name)}`);
      }
      case `${BASE}/policy/delete`: {
        const name = form.get('name') ?? '';
        const r = await call(session, POLICY_DELETE, { id: name });
        if (!ok(r)) return failed(res, session, r, 'delete policies', { operation: 'policy', target: '' });
        session.flash = { kind: 'ok', text: `Deleted policy ${name}.` };
        return redirect(res, `${BASE}/policies`);
      }
      case `${BASE}/request/file`:
        return fileRequest(res, session, form);
      case `${BASE}/request/approve`:
        return decide(res, session, 'approve', form);
      case `${BASE}/request/deny`:
        return decide(res, session, 'deny', form);
      case `${BASE}/request/cancel`:
        return decide(res, session, 'cancel', form);
      default:
        return send(res, 404, errorPage(contextOf(session), 'Not found', 'There is no such console form.'));
    }
  };

  const refuse = (res: ServerResponse, session: Session | undefined, text: string): void =>
    send(res, 403, errorPage(session === undefined ? {} : contextOf(session), 'Refused', text));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', origin);
    const method = req.method ?? 'GET';
    const p = url.pathname;
    if (method === 'GET' || method === 'HEAD') {
      if (p === BASE || p === `${BASE}/`) return redirect(res, `${BASE}/secrets`);
      if (p === `${BASE}/style.css`) {
        res.writeHead(200, {
          ...SECURITY_HEADERS,
          'Content-Type': 'text/css; charset=utf-8',
          'Cache-Control': 'private, max-age=3600',
        });
        res.end(STYLESHEET);
        return;
      }
      if (p === `${BASE}/login`) return startLogin(res, url);
      if (p === `${BASE}/callback`) return finishLogin(req, res, url);
      if (p === `${BASE}/logged-out`) return send(res, 200, loggedOutPage());
      const session = sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
      if (session === undefined || !(await keepFresh(session))) {
        if (session !== undefined) sessions.end(session);
        return redirect(res, `${BASE}/login?next=${encodeURIComponent(p + url.search)}`);
      }
      return get(req, res, url, session);
    }
    if (method !== 'POST') {
      res.writeHead(405, { ...SECURITY_HEADERS, Allow: 'GET, HEAD, POST' });
      res.end();
      return;
    }
    const session = sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    if (session === undefined)
      return refuse(
        res,
        undefined,
        'Your console session has ended. Log in again, then repeat what you did.',
      );
    if (req.headers.origin !== origin) {
      log(`console: refused a form post from origin ${String(req.headers.origin).slice(0, 200)}`);
      return refuse(res, session, 'This form came from another site, so nothing was changed.');
    }
    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch (err) {
      if (err instanceof FormError)
        return send(res, 400, errorPage(contextOf(session), 'Bad form', err.message));
      throw err;
    }
    if (!tokensEqual(form.get('csrf') ?? '', session.csrfToken)) {
      log('console: refused a form post without the session’s CSRF token');
      return refuse(
        res,
        session,
        'This form is out of date or came from another site, so nothing was changed. Reload the page and try again.',
      );
    }
    if (p !== `${BASE}/logout` && !(await keepFresh(session))) {
      sessions.end(session);
      return refuse(
        res,
        undefined,
        'Your console session has ended. Log in again, then repeat what you did.',
      );
    }
    try {
      await post(res, url, session, form);
    } catch (err) {
      if (err instanceof FormError)
        return send(res, 400, errorPage(contextOf(session), 'Bad form', err.message));
      throw err;
    }
  };

  return {
    async handle(req, res) {
      try {
        await handle(req, res);
      } catch (err) {
        log(`console: request failed: ${(err as Error).message}`);
        if (!res.headersSent)
          send(res, 500, errorPage({}, 'Error', 'The console failed to handle this request.'));
        else res.destroy();
      }
    },
    sessions,
    redirectUri,
    postLogoutRedirectUri,
  };
}
