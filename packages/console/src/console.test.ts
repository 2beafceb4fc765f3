/**
 * The console without a browser: escaping, pages, the session table, and the handler over real
 * HTTP with a stand-in identity provider and a recording API door (the browser suite in
 * test/console/ runs it against a real Nexus and Keycloak).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createConsole, SECURITY_HEADERS, type Console } from './handler.ts';
import { escapeHtml, markup } from './html.ts';
import type { LoginChecks, OidcRelyingParty } from './oidc.ts';
import { createOidcRelyingParty, isLoopbackHttp } from './oidc.ts';
import { secretPage, secretsPage, auditPage, policyPage, EMPTY_POLICY_FORM } from './pages.ts';
import type { CallResult, ConsolePerson } from './port.ts';
import { SessionTable, tokensEqual } from './session.ts';
import { getPage, postForm } from './testing/form-client.ts';

const ALICE: ConsolePerson = Object.freeze({
  kind: 'person',
  principal: 'user:alice',
  groups: ['infra'],
  issuer: 'https://idp.test',
  role: 'user',
});
const SCRIPT_PATH = 'apps/<script>alert(1)</script>/db';

describe('escaping', () => {
  it('escapes markup, quotes and control characters', () => {
    assert.equal(
      escapeHtml(`<a href="x" onclick='y'>&\`=`),
      '&lt;a href&#61;&quot;x&quot; onclick&#61;&#39;y&#39;&gt;&amp;&#96;&#61;',
    );
    assert.equal(escapeHtml('a\u0000b\u001bc\td\ne'), 'a\ufffdb\ufffdc\td\ne');
  });
  it('escapes every interpolated value and keeps nested markup', () => {
    const inner = markup`<b>${'<i>'}</b>`;
    const out = markup`<p title="${'"x"'}">${inner}${['<', 1, null, undefined, false]}</p>`.text;
    assert.equal(out, '<p title="&quot;x&quot;"><b>&lt;i&gt;</b>&lt;1</p>');
  });
  it('renders a <script> secret path as text on every page that shows it', () => {
    const meta = {
      metadata: { currentVersion: 1, oldestVersion: 1, createdTime: 't', updatedTime: 't', maxVersions: 10 },
      versions: { '1': { version: 1, createdTime: 't', deletedTime: null } },
    };
    const pages = [
      secretsPage({ person: ALICE, csrf: 'c' }, [SCRIPT_PATH, 'ok/path'], 0),
      secretPage({ person: ALICE, csrf: 'c' }, SCRIPT_PATH, meta, 2, {
        version: 1,
        data: { '<script>k': '<script>v' },
      }),
      auditPage(
        { person: ALICE },
        { principal: '<script>', path: '', decision: '', from: '', to: '', limit: '1' },
        [{ path: SCRIPT_PATH, caller: '<script>x' }],
      ),
      policyPage(
        { person: ALICE, csrf: 'c' },
        { ...EMPTY_POLICY_FORM, name: '"><script>x', pathPattern: SCRIPT_PATH },
        undefined,
        '<script>',
      ),
    ];
    for (const page of pages) {
      assert.doesNotMatch(page, /<script/i);
      assert.match(page, /&lt;script&gt;/);
    }
  });
});

describe('session table', () => {
  it('ends a session after the idle timeout and after the absolute timeout', () => {
    let t = 0;
    const table = new SessionTable({ idleMs: 100, absoluteMs: 250 }, () => t);
    const tokens = { accessToken: 'a', accessExpiresAt: 1e12 };
    const { id } = table.create(ALICE, tokens);
    t = 99;
    assert.ok(table.get(id), 'active within the idle time');
    t = 198;
    assert.ok(table.get(id), 'touched, so still active');
    t = 250;
    assert.equal(table.get(id), undefined, 'absolute timeout');
    const second = table.create(ALICE, tokens).id;
    t = 350;
    assert.equal(table.get(second), undefined, 'idle timeout');
    assert.equal(table.get('unknown'), undefined);
    assert.equal(table.get(undefined), undefined);
    assert.equal(table.get('x'.repeat(101)), undefined);
  });
  it('is bounded: the least recently used session ends to make room', () => {
    const table = new SessionTable({ maxSessions: 2 });
    const tokens = { accessToken: 'a', accessExpiresAt: 1e12 };
    const a = table.create(ALICE, tokens).id;
    const b = table.create(ALICE, tokens).id;
    assert.ok(table.get(a)); // a is now the most recent
    const c = table.create(ALICE, tokens).id;
    assert.equal(table.size, 2);
    assert.equal(table.get(b), undefined);
    assert.ok(table.get(a));
    assert.ok(table.get(c));
  });
  it('keeps logins in progress bounded, once only and for a limited time', () => {
    let t = 0;
    const table = new SessionTable({ maxPendingLogins: 2, pendingMs: 100 }, () => t);
    const login = { state: 's', nonce: 'n', codeVerifier: 'v', next: '/console/secrets' };
    const h1 = table.startLogin(login);
    const h2 = table.startLogin(login);
    const h3 = table.startLogin(login);
    assert.equal(table.pendingSize, 2);
    assert.equal(table.takeLogin(h1), undefined, 'oldest forgotten');
    assert.equal(table.takeLogin(h2)?.state, 's');
    assert.equal(table.takeLogin(h2), undefined, 'taken once only');
    t = 100;
    assert.equal(table.takeLogin(h3), undefined, 'too old');
  });
  it('compares tokens by value and length', () => {
    assert.ok(tokensEqual('abc', 'abc'));
    assert.ok(!tokensEqual('abc', 'abd'));
    assert.ok(!tokensEqual('abc', 'abcd'));
    assert.ok(!tokensEqual('', 'a'));
  });
  it('never keeps the cookie value itself', () => {
    const table = new SessionTable();
    const { id, session } = table.create(ALICE, { accessToken: 'a', accessExpiresAt: 1e12 });
    assert.notEqual(session.key, id);
    assert.notEqual(session.csrfToken, id);
    assert.match(id, /^[A-Za-z0-9_-]{43}$/);
  });
});

describe('relying party settings', () => {
  it('allows plain http only for a loopback issuer', () => {
    assert.ok(isLoopbackHttp(new URL('http://127.0.0.1:8080/realms/x')));
    assert.ok(isLoopbackHttp(new URL('http://localhost:1')));
    assert.ok(!isLoopbackHttp(new URL('http://idp.example.org')));
    const base = {
      clientId: 'c',
      clientSecret: 's',
      redirectUri: 'https://x/cb',
      postLogoutRedirectUri: 'https://x/o',
    };
    assert.throws(
      () => createOidcRelyingParty({ ...base, issuer: 'http://idp.example.org/realms/x' }),
      /must be https/,
    );
    assert.doesNotThrow(() => createOidcRelyingParty({ ...base, issuer: 'http://127.0.0.1:1/realms/x' }));
  });
  it('refuses a public base URL that is not https', () => {
    assert.throws(
      () =>
        createConsole({
          publicBaseUrl: 'http://nexus.example.org',
          oidc: fakeIdp().rp,
          authenticate: () => Promise.resolve(ALICE),
          callAsPerson: () => Promise.resolve({ status: 200, body: {} }),
        }),
      /must be https/,
    );
  });
});

// --- the handler over HTTP -----------------------------------------------------------------------

interface Call {
  caller: ConsolePerson;
  door: string;
  path: string;
  action: string;
  body: Record<string, unknown>;
}

/** A recording API door with a tiny store: answers as Nexus's routes would for these tests. */
function fakeApi(): {
  calls: Call[];
  secrets: Map<string, Record<string, string>>;
  deny: Set<string>;
  call: (...a: [ConsolePerson, 'console', string, string, unknown]) => Promise<CallResult>;
} {
  const calls: Call[] = [];
  const secrets = new Map<string, Record<string, string>>([
    ['db/main', { password: 'hunter2' }],
    [SCRIPT_PATH, { k: 'v' }],
  ]);
  const deny = new Set<string>();
  const call = (
    caller: ConsolePerson,
    door: 'console',
    path: string,
    action: string,
    body: unknown,
  ): Promise<CallResult> => {
    const b = body as Record<string, unknown>;
    calls.push({ caller, door, path, action, body: b });
    const key = `${path}?${action}`;
    if (deny.has(key) || deny.has(caller.principal))
      return Promise.resolve({ status: 401, body: { err: 'access_unauthorized' } });
    switch (key) {
      case '/v1/store/secrets?list':
        return Promise.resolve({ status: 200, body: { keys: [...secrets.keys()] } });
      case '/v1/store/secrets/metadata?get':
        if (!secrets.has(String(b.path)))
          return Promise.resolve({ status: 404, body: { err: 'api_not_found' } });
        return Promise.resolve({
          status: 200,
          body: {
            metadata: {
              currentVersion: 1,
              oldestVersion: 1,
              createdTime: '2026-01-01T00:00:00Z',
              updatedTime: '2026-01-01T00:00:00Z',
              maxVersions: 10,
            },
            versions: { '1': { version: 1, createdTime: '2026-01-01T00:00:00Z', deletedTime: null } },
          },
        });
      case '/v1/store/secrets?get':
        return Promise.resolve({ status: 200, body: { data: secrets.get(String(b.path)) ?? null } });
      case '/v1/store/secrets?':
        secrets.set(String(b.path), b.values as Record<string, string>);
        return Promise.resolve({ status: 200, body: {} });
      case '/v1/acl/policy?':
        if (String(b.name).includes(' '))
          return Promise.resolve({ status: 400, body: { err: 'api_bad_request' } });
        return Promise.resolve({ status: 200, body: {} });
      default:
        return Promise.resolve({ status: 200, body: {} });
    }
  };
  return { calls, secrets, deny, call };
}

function fakeIdp(): { rp: OidcRelyingParty; refreshes: string[]; failRefresh: { on: boolean } } {
  const refreshes: string[] = [];
  const failRefresh = { on: false };
  let n = 0;
  const rp: OidcRelyingParty = {
    authorizationUrl: (c: LoginChecks) => Promise.resolve(new URL(`https://idp.test/auth?state=${c.state}`)),
    finishLogin: (url: URL, c: LoginChecks) => {
      if (url.searchParams.get('state') !== c.state || url.searchParams.get('code') !== 'good') {
        return Promise.reject(new Error('state or code mismatch'));
      }
      n += 1;
      return Promise.resolve({
        accessToken: `access-${n}`,
        accessExpiresAt: Date.now() + 300_000,
        refreshToken: `refresh-${n}`,
        idToken: `id-${n}`,
      });
    },
    refresh: (rt: string) => {
      refreshes.push(rt);
      if (failRefresh.on) return Promise.reject(new Error('refresh refused'));
      n += 1;
      return Promise.resolve({
        accessToken: `access-${n}`,
        accessExpiresAt: Date.now() + 300_000,
        refreshToken: `refresh-${n}`,
      });
    },
    logoutUrl: (idToken) =>
      Promise.resolve(new URL(`https://idp.test/logout?id_token_hint=${idToken ?? ''}`)),
  };
  return { rp, refreshes, failRefresh };
}

describe('console handler', () => {
  let server: Server;
  let base: string;
  let origin: string;
  let api: ReturnType<typeof fakeApi>;
  let idp: ReturnType<typeof fakeIdp>;
  let consoleApp: Console;
  const authenticated: string[] = [];

  before(async () => {
    api = fakeApi();
    idp = fakeIdp();
    server = createServer((req, res) => void consoleApp.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    origin = `https://console.test:${port}`;
    consoleApp = createConsole({
      publicBaseUrl: origin,
      oidc: idp.rp,
      authenticate: (token) => {
        authenticated.push(token);
        if (token === 'reject') return Promise.reject(new Error('bad token'));
        return Promise.resolve(ALICE);
      },
      callAsPerson: api.call,
    });
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const get = (path: string, cookie?: string) => getPage(base, path, cookie);
  const post = (
    path: string,
    form: Record<string, string>,
    cookie: string,
    headers?: Record<string, string>,
  ) => postForm(base, origin, path, form, cookie, headers);

  /** Logs in through the stand-in IdP; returns the session cookie and the page's CSRF token. */
  async function login(): Promise<{ cookie: string; csrf: string }> {
    const start = await get('/console/login?next=/console/secrets');
    assert.equal(start.status, 303);
    const location = new URL(start.headers.get('location') ?? '');
    assert.equal(location.origin, 'https://idp.test');
    const loginCookie = start.headers.getSetCookie()[0] ?? '';
    assert.match(
      loginCookie,
      /^__Host-spike-console-login=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=\d+$/,
    );
    const state = location.searchParams.get('state') ?? '';
    const cb = await get(`/console/callback?code=good&state=${state}`, loginCookie.split(';')[0]);
    assert.equal(cb.status, 200);
    const set = cb.headers.getSetCookie();
    const session = set.find((c) => c.startsWith('__Host-spike-console='));
    assert.ok(session, 'session cookie set');
    assert.match(
      session,
      /^__Host-spike-console=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/,
    );
    assert.ok(
      set.some((c) => c.startsWith('__Host-spike-console-login=;') && c.includes('Max-Age=0')),
      'login cookie cleared',
    );
    const page = await cb.text();
    assert.match(page, /<meta http-equiv="refresh" content="0;url=\/console\/secrets">/);
    const cookie = session.split(';')[0] as string;
    const secrets = await get('/console/secrets', cookie);
    assert.equal(secrets.status, 200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await secrets.text())?.[1];
    assert.ok(csrf);
    return { cookie, csrf };
  }

  it('sends the security headers on every response', async () => {
    for (const path of [
      '/console/secrets',
      '/console/style.css',
      '/console/logged-out',
      '/console/nothing',
    ]) {
      const r = await get(path);
      assert.equal(r.headers.get('content-security-policy'), SECURITY_HEADERS['Content-Security-Policy']);
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.doesNotMatch(r.headers.get('content-security-policy') ?? '', /script-src|unsafe/);
    }
    const css = await get('/console/style.css');
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  });

  it('sends a visitor without a session to the login, remembering the page', async () => {
    const r = await get('/console/policy?name=x');
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/console/login?next=%2Fconsole%2Fpolicy%3Fname%3Dx');
    const root = await get('/console/');
    assert.equal(root.headers.get('location'), '/console/secrets');
  });

  it('refuses a callback without the login cookie, with a wrong state, or an IdP error', async () => {
    const none = await get('/console/callback?code=good&state=x');
    assert.equal(none.status, 400);
    assert.ok(
      !none.headers
        .getSetCookie()
        .some((c) => c.startsWith('__Host-spike-console=') && !c.includes('Max-Age=0')),
    );
    const start = await get('/console/login');
    const loginCookie = (start.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
    const wrong = await get('/console/callback?code=good&state=forged', loginCookie);
    assert.equal(wrong.status, 400);
    assert.match(await wrong.text(), /could not be completed/);
    const again = await get('/console/callback?code=good&state=forged', loginCookie);
    assert.match(await again.text(), /unknown or too old/, 'a login handle works once only');
    const start2 = await get('/console/login');
    const c2 = (start2.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
    const denied = await get('/console/callback?error=access_denied&state=x', c2);
    assert.equal(denied.status, 400);
    assert.match(await denied.text(), /refused the login \(access_denied\)/);
  });

  it('ignores a next page outside the console', async () => {
    for (const next of ['https://evil.test/', '//evil.test/x', '/console/\\evil', '/other']) {
      const start = await get(`/console/login?next=${encodeURIComponent(next)}`);
      const loginCookie = (start.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
      const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
      const cb = await get(`/console/callback?code=good&state=${state}`, loginCookie);
      assert.match(await cb.text(), /url=\/console\/secrets"/);
    }
  });

  it('lists secrets, with a <script> path inert', async () => {
    const { cookie } = await login();
    const r = await get('/console/secrets', cookie);
    const page = await r.text();
    assert.doesNotMatch(page, /<script/i);
    assert.match(page, /<summary>&lt;script&gt;alert\(1\)&lt;\/<\/summary>/);
    assert.match(
      page,
      /href="\/console\/secret\?path&#61;apps%2F%3Cscript%3Ealert%281%29%3C%2Fscript%3E%2Fdb"/,
    );
    const last = api.calls.at(-1);
    assert.deepEqual(
      [last?.door, last?.path, last?.action, last?.caller.principal],
      ['console', '/v1/store/secrets', 'list', 'user:alice'],
    );
  });

  it('shows values only after a reveal POST, and not on the page itself', async () => {
    const { cookie, csrf } = await login();
    const page = await (await get('/console/secret?path=db/main', cookie)).text();
    assert.doesNotMatch(page, /hunter2/);
    assert.match(page, /Reveal version 1/);
    const r = await post('/console/secret/reveal', { csrf, path: 'db/main', version: '1' }, cookie);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const shown = await r.text();
    assert.match(shown, /<td class="value">hunter2<\/td>/);
    assert.match(shown, /<a href="\/console\/secret\?path&#61;db%2Fmain" id="hide">Hide values<\/a>/);
    const reveal = api.calls.find((c) => c.path === '/v1/store/secrets' && c.action === 'get');
    assert.deepEqual(reveal?.body, { path: 'db/main', version: 1 });
    assert.equal(reveal?.door, 'console');
  });

  it('refuses a form post without the CSRF token, with a wrong one, or from another origin, changing nothing', async () => {
    const { cookie, csrf } = await login();
    const before = api.calls.length;
    const attempts = [
      post('/console/secret/put', { path: 'db/main', key: 'password', value: 'pwned' }, cookie),
      post(
        '/console/secret/put',
        { csrf: 'x'.repeat(43), path: 'db/main', key: 'password', value: 'pwned' },
        cookie,
      ),
      post(
        '/console/secret/put',
        { csrf: `${csrf}x`, path: 'db/main', key: 'password', value: 'pwned' },
        cookie,
      ),
      post('/console/secret/put', { csrf, path: 'db/main', key: 'password', value: 'pwned' }, cookie, {
        origin: 'https://evil.test',
      }),
      post('/console/secret/put', { csrf, path: 'db/main', key: 'password', value: 'pwned' }, cookie, {
        origin: 'null',
      }),
      fetch(`${base}/console/secret/put`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, path: 'db/main', key: 'password', value: 'pwned' }).toString(),
      }),
      post(
        '/console/secret/put',
        { csrf, path: 'db/main', key: 'password', value: 'pwned' },
        '__Host-spike-console=forged',
      ),
    ];
    for (const r of await Promise.all(attempts)) {
      assert.equal(r.status, 403);
      assert.match(await r.text(), /nothing was changed|session has ended/);
    }
    assert.equal(api.calls.length, before, 'no API call was made');
    assert.equal(api.secrets.get('db/main')?.password, 'hunter2');
  });

  it('refuses oversized and non-form bodies', async () => {
    const { cookie, csrf } = await login();
    const before = api.calls.length;
    const big = await post(
      '/console/secret/put',
      { csrf, path: 'db/main', key: 'k', value: 'x'.repeat(300 * 1024) },
      cookie,
    );
    assert.equal(big.status, 400);
    assert.match(await big.text(), /too large/);
    const json = await post('/console/secret/put', { csrf }, cookie, { 'content-type': 'application/json' });
    assert.equal(json.status, 400);
    const badVersion = await post('/console/secret/delete', { csrf, path: 'db/main', version: '-1' }, cookie);
    assert.equal(badVersion.status, 400);
    assert.equal(api.calls.length, before);
  });

  it('saves a new version, then redirects to the secret with a message', async () => {
    const { cookie, csrf } = await login();
    const form = new URLSearchParams({ csrf, path: 'new/one' });
    form.append('key', 'user');
    form.append('value', 'u');
    form.append('key', '');
    form.append('value', 'ignored');
    form.append('key', 'pass');
    form.append('value', 'p\nq');
    const r = await fetch(`${base}/console/secret/put`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/console/secret?path=new%2Fone');
    assert.deepEqual(api.secrets.get('new/one'), { user: 'u', pass: 'p\nq' });
    const next = await (await get('/console/secret?path=new%2Fone', cookie)).text();
    assert.match(next, /Saved a new version/);
    const later = await (await get('/console/secret?path=new%2Fone', cookie)).text();
    assert.doesNotMatch(later, /Saved a new version/, 'the message shows once');
  });

  it("shows the server's validation error and keeps what was entered", async () => {
    const { cookie, csrf } = await login();
    const r = await post(
      '/console/policy/save',
      { csrf, name: 'bad name', pathPattern: '^x$', permissions: 'read', groups: 'infra\nops' },
      cookie,
    );
    assert.equal(r.status, 400);
    const page = await r.text();
    assert.match(page, /Not saved: The request was invalid\. \(HTTP 400, api_bad_request\)/);
    assert.match(page, /value="bad name"/);
    assert.match(page, />infra\nops<\/textarea>/);
    const ok = await post(
      '/console/policy/save',
      { csrf, name: 'good', pathPattern: '^x$', permissions: 'read', groups: 'infra' },
      cookie,
    );
    assert.equal(ok.status, 303);
    assert.deepEqual(api.calls.at(-1)?.body, {
      name: 'good',
      spiffeidPattern: '',
      pathPattern: '^x$',
      permissions: ['read'],
      groups: ['infra'],
    });
  });

  it('answers a clear 403 page when the policies grant nothing', async () => {
    const { cookie } = await login();
    api.deny.add('/v1/store/secrets?list');
    try {
      const r = await get('/console/secrets', cookie);
      assert.equal(r.status, 403);
      const page = await r.text();
      assert.match(
        page,
        /logged in as <strong>user:alice<\/strong> \(infra\), and no policy lets you list secrets/,
      );
      assert.match(page, /<form class="filters" method="get" action="\/console\/secret">/, 'open by path');
      api.deny.add('/v1/store/secrets/metadata?get');
      const other = await get('/console/secret?path=db%2Fmain', cookie);
      assert.equal(other.status, 403);
      const text = await other.text();
      assert.match(text, /<h1>Not allowed<\/h1>/);
      assert.match(text, /no policy lets you read this secret’s metadata/);
      assert.doesNotMatch(text, /hunter2/);
    } finally {
      api.deny.delete('/v1/store/secrets?list');
      api.deny.delete('/v1/store/secrets/metadata?get');
    }
  });

  it('passes the audit filters to the audit list route', async () => {
    const { cookie } = await login();
    const r = await get(
      '/console/audit?principal=user%3Abob&path=db%2Fmain&decision=denied&from=2026-01-01T00%3A00&to=2026-01-02T10%3A30%3A15&limit=5',
      cookie,
    );
    assert.equal(r.status, 200);
    assert.deepEqual(api.calls.at(-1)?.body, {
      principal: 'user:bob',
      path: 'db/main',
      decision: 'denied',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-02T10:30:15.000Z',
      limit: 5,
    });
    assert.deepEqual([api.calls.at(-1)?.path, api.calls.at(-1)?.action], ['/v1/audit', 'list']);
    const before = api.calls.length;
    const bad = await get('/console/audit?from=yesterday', cookie);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /From is not a date and time/);
    assert.equal(api.calls.length, before);
  });

  it('refreshes the access token when it expires, and ends the session when that fails', async () => {
    const { cookie } = await login();
    const session = consoleApp.sessions.get(cookie.slice(cookie.indexOf('=') + 1));
    assert.ok(session);
    session.tokens.accessExpiresAt = Date.now();
    const used = session.tokens.refreshToken;
    const r = await get('/console/secrets', cookie);
    assert.equal(r.status, 200);
    assert.equal(idp.refreshes.at(-1), used);
    assert.equal(
      authenticated.at(-1),
      session.tokens.accessToken,
      'the new access token was validated again',
    );
    session.tokens.accessExpiresAt = Date.now();
    idp.failRefresh.on = true;
    try {
      const gone = await get('/console/secrets', cookie);
      assert.equal(gone.status, 303);
      assert.match(gone.headers.get('location') ?? '', /^\/console\/login/);
      assert.equal((await get('/console/secrets', cookie)).status, 303, 'the session ended');
    } finally {
      idp.failRefresh.on = false;
    }
  });

  it('logs out: the session ends and the browser goes on to the IdP logout', async () => {
    const { cookie, csrf } = await login();
    const r = await post('/console/logout', { csrf }, cookie);
    assert.equal(r.status, 200);
    assert.ok(
      r.headers.getSetCookie().some((c) => c.startsWith('__Host-spike-console=;') && c.includes('Max-Age=0')),
    );
    assert.match(
      await r.text(),
      /<meta http-equiv="refresh" content="0;url=https:\/\/idp\.test\/logout\?id_token_hint&#61;id-\d+">/,
    );
    const after = await get('/console/secrets', cookie);
    assert.equal(after.status, 303);
  });

  it('answers other methods with 405', async () => {
    const r = await fetch(`${base}/console/secrets`, { method: 'PUT' });
    assert.equal(r.status, 405);
  });
});
