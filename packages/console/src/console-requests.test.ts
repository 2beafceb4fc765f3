/**
 * The console's approval pages without a browser: the handler over real HTTP with a stand-in
 * identity provider and an API door that answers the approvals route as Nexus would (a tiny
 * in-memory model). A reveal refused with `approval_required` offers the "Request access" form for
 * exactly that secret; filing, approving (never one's own request, never twice), denying and
 * cancelling go to the API as the person through the console door; the new forms need the CSRF
 * token and a same-origin Origin; a reason with markup stays text; the policy form keeps a
 * policy's approval rule. The browser suite in test/console/ runs it against Nexus and Keycloak.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createConsole, type Console } from './handler.ts';
import type { OidcRelyingParty } from './oidc.ts';
import type { CallResult, ConsolePerson } from './port.ts';
import type { RequestView } from './request-pages.ts';
import { getPage, postForm } from './testing/form-client.ts';

const person = (name: string): ConsolePerson =>
  Object.freeze({
    kind: 'person',
    principal: `user:${name}`,
    groups: ['infra'],
    issuer: 'https://idp.test',
    role: 'user',
  });

interface Recorded {
  principal: string;
  path: string;
  action: string;
  body: Record<string, unknown>;
}

/** The approvals route and two secrets, one behind an approval rule, as Nexus answers them. */
function approvalsApi() {
  const calls: Recorded[] = [];
  const requests = new Map<string, RequestView & { approvals: RequestView['approvals'] }>();
  const grants = new Set<string>();
  const policies = new Map<string, Record<string, unknown>>();
  let n = 0;
  const reply = (status: number, body: unknown): Promise<CallResult> => Promise.resolve({ status, body });
  const call = (
    caller: ConsolePerson,
    _door: 'console',
    path: string,
    action: string,
    body: unknown,
  ): Promise<CallResult> => {
    const b = (body ?? {}) as Record<string, unknown>;
    calls.push({ principal: caller.principal, path, action, body: b });
    const me = caller.principal;
    switch (`${path}?${action}`) {
      case '/v1/store/secrets/metadata?get':
        return reply(200, {
          metadata: {
            currentVersion: 1,
            oldestVersion: 1,
            createdTime: 't',
            updatedTime: 't',
            maxVersions: 10,
          },
          versions: { '1': { version: 1, createdTime: 't', deletedTime: null } },
        });
      case '/v1/store/secrets?get': {
        if (b.path !== 'vault/root') return reply(200, { data: { v: 'open' } });
        const grant = `${me} read vault/root`;
        if (!grants.delete(grant)) return reply(403, { data: null, err: 'approval_required' });
        return reply(200, { data: { password: 'behind-approval' } });
      }
      case '/v1/acl/policy?get':
        return reply(200, policies.get(String(b.id)) ?? { err: 'api_not_found' });
      case '/v1/acl/policy?':
        policies.set(String(b.name), { ...b, id: 'p1', createdAt: 't', updatedAt: 't' });
        return reply(200, {});
      case '/v1/approvals?request': {
        if (b.operation !== 'read' || b.target !== 'vault/root')
          return reply(400, { request: null, err: 'api_bad_request' });
        n += 1;
        const id = `req${String(n).padStart(3, '0')}AAAAAAAAAAAAAAAAAAAAAAA`;
        const v = {
          id,
          requester: me,
          requesterKind: 'person',
          operation: 'read',
          target: 'vault/root',
          reason: String(b.reason),
          status: 'pending',
          required: 2,
          approvals: [],
          denials: [],
          createdAt: '2026-12-06T00:00:00Z',
          expiresAt: '2026-12-07T00:00:00Z',
        };
        requests.set(id, v);
        return reply(200, { request: v });
      }
      case '/v1/approvals?get': {
        const v = requests.get(String(b.id));
        return v === undefined
          ? reply(404, { request: null, err: 'api_not_found' })
          : reply(200, { request: v });
      }
      case '/v1/approvals?list':
        return reply(200, {
          requests: [...requests.values()].filter(
            (v) =>
              (b.status === undefined || v.status === b.status) && (b.mine !== true || v.requester === me),
          ),
        });
      case '/v1/approvals?approve':
      case '/v1/approvals?deny': {
        const v = requests.get(String(b.id));
        if (v === undefined) return reply(404, { request: null, err: 'api_not_found' });
        const voted = [...v.approvals, ...v.denials].some((x) => x.principal === me);
        if (v.requester === me || voted || v.status !== 'pending')
          return reply(400, { request: null, err: 'api_bad_request' });
        const mark = {
          principal: me,
          at: '2026-12-06T00:01:00Z',
          ...(b.comment === undefined ? {} : { comment: b.comment as string }),
        };
        const next =
          action === 'deny'
            ? { ...v, denials: [...v.denials, mark], status: 'denied' }
            : { ...v, approvals: [...v.approvals, mark] };
        if (next.approvals.length >= next.required) {
          next.status = 'approved';
          grants.add(`${v.requester} read vault/root`);
        }
        requests.set(v.id, next);
        return reply(200, { request: next });
      }
      case '/v1/approvals?cancel': {
        const v = requests.get(String(b.id));
        if (v === undefined) return reply(404, { request: null, err: 'api_not_found' });
        if (v.requester !== me) return reply(403, { request: null, err: 'access_unauthorized' });
        const next = { ...v, status: 'cancelled' };
        requests.set(v.id, next);
        return reply(200, { request: next });
      }
      default:
        return reply(200, {});
    }
  };
  return { calls, requests, policies, call };
}

function standInIdp(): OidcRelyingParty {
  let n = 0;
  return {
    authorizationUrl: (c) => Promise.resolve(new URL(`https://idp.test/auth?state=${c.state}`)),
    finishLogin: () => {
      n += 1;
      return Promise.resolve({ accessToken: `access-${n}`, accessExpiresAt: Date.now() + 300_000 });
    },
    refresh: () => Promise.reject(new Error('no refresh here')),
    logoutUrl: () => Promise.resolve(undefined),
  };
}

describe('console approval pages', () => {
  let server: Server;
  let base: string;
  let origin: string;
  let consoleApp: Console;
  let api: ReturnType<typeof approvalsApi>;
  /** Who the next login is. */
  let next = person('bob');

  before(async () => {
    api = approvalsApi();
    server = createServer((req, res) => void consoleApp.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    origin = `https://console.test:${port}`;
    consoleApp = createConsole({
      publicBaseUrl: origin,
      oidc: standInIdp(),
      authenticate: () => Promise.resolve(next),
      callAsPerson: api.call,
    });
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const get = (path: string, cookie: string) => getPage(base, path, cookie);
  const post = (
    path: string,
    form: Record<string, string>,
    cookie: string,
    headers?: Record<string, string>,
  ) => postForm(base, origin, path, form, cookie, headers);

  async function login(name: string): Promise<{ cookie: string; csrf: string }> {
    next = person(name);
    const start = await fetch(`${base}/console/login`, { redirect: 'manual' });
    const loginCookie = (start.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
    const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const cb = await get(`/console/callback?code=x&state=${state}`, loginCookie);
    const session = cb.headers.getSetCookie().find((c) => c.startsWith('__Host-spike-console='));
    const cookie = (session ?? '').split(';')[0] as string;
    const page = await (await get('/console/requests', cookie)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    assert.notEqual(csrf, '');
    return { cookie, csrf };
  }

  let requestId = '';

  it('a reveal refused with approval_required shows the request form for that secret; filing it works', async () => {
    const bob = await login('bob');
    const requestsPage = await (await get('/console/requests', bob.cookie)).text();
    assert.match(requestsPage, /<a href="\/console\/requests">Requests<\/a>/, 'a navigation link');
    assert.match(requestsPage, /You have filed no requests/);
    const refused = await post(
      '/console/secret/reveal',
      { csrf: bob.csrf, path: 'vault/root', version: '0' },
      bob.cookie,
    );
    assert.equal(refused.status, 403);
    const page = await refused.text();
    assert.match(page, /<h1>Approval required<\/h1>/);
    assert.match(page, /To read the values of secret vault\/root you need approval/);
    assert.match(
      page,
      /<input type="hidden" name="operation" value="read"><input type="hidden" name="target" value="vault\/root">/,
    );
    assert.doesNotMatch(page, /behind-approval/);
    const filed = await post(
      '/console/request/file',
      { csrf: bob.csrf, operation: 'read', target: 'vault/root', reason: 'rotate it <script>x</script>' },
      bob.cookie,
    );
    assert.equal(filed.status, 303);
    const location = filed.headers.get('location') ?? '';
    assert.match(location, /^\/console\/request\?id=req001/);
    requestId = new URL(location, base).searchParams.get('id') ?? '';
    const call = api.calls.filter((c) => c.action === 'request').at(-1);
    assert.deepEqual(call, {
      principal: 'user:bob',
      path: '/v1/approvals',
      action: 'request',
      body: { operation: 'read', target: 'vault/root', reason: 'rotate it <script>x</script>' },
    });
    const detail = await (await get(location, bob.cookie)).text();
    assert.match(detail, /Request filed: it needs 2 approval\(s\)/);
    assert.match(detail, /rotate it &lt;script&gt;x&lt;\/script&gt;/, 'the reason is text');
    assert.doesNotMatch(detail, /<script/);
    assert.match(detail, /Cancel this request/);
    assert.doesNotMatch(
      detail,
      /action="\/console\/request\/approve"/,
      'no approve form on one’s own request',
    );
    const empty = await post(
      '/console/request/file',
      { csrf: bob.csrf, operation: 'read', target: 'vault/root', reason: '  ' },
      bob.cookie,
    );
    assert.equal(empty.status, 400);
    assert.match(await empty.text(), /Give a reason/);
    const needless = await post(
      '/console/request/file',
      { csrf: bob.csrf, operation: 'read', target: 'open/one', reason: 'x' },
      bob.cookie,
    );
    assert.equal(needless.status, 400);
    assert.match(await needless.text(), /Not filed: .*api_bad_request.*no approval rule covers/);
  });

  it('approving one’s own request is refused with a clear message', async () => {
    const bob = await login('bob');
    const r = await post('/console/request/approve', { csrf: bob.csrf, id: requestId }, bob.cookie);
    assert.equal(r.status, 400);
    assert.match(
      await r.text(),
      /You cannot approve your own request: it needs 2 approval\(s\) by people other than the requester/,
    );
    assert.equal(api.requests.get(requestId)?.approvals.length, 0);
  });

  it('the new forms need the CSRF token and a same-origin Origin; nothing is called without them', async () => {
    const alice = await login('alice');
    const before = api.calls.length;
    const attempts = [
      await post('/console/request/approve', { id: requestId }, alice.cookie),
      await post('/console/request/approve', { csrf: 'A'.repeat(43), id: requestId }, alice.cookie),
      await post('/console/request/approve', { csrf: alice.csrf, id: requestId }, alice.cookie, {
        origin: 'https://evil.test',
      }),
      await post(
        '/console/request/file',
        { operation: 'read', target: 'vault/root', reason: 'x' },
        alice.cookie,
      ),
      await post('/console/request/deny', { id: requestId }, alice.cookie),
      await post('/console/request/cancel', { id: requestId }, alice.cookie),
    ];
    for (const r of attempts) {
      assert.equal(r.status, 403);
      assert.match(await r.text(), /nothing was changed/);
    }
    assert.equal(api.calls.length, before, 'no API call');
    assert.equal(api.requests.get(requestId)?.approvals.length, 0);
  });

  it('alice and carol approve on the requests page; twice is refused; bob reveals once, the second reveal is refused', async () => {
    const alice = await login('alice');
    const list = await (await get('/console/requests', alice.cookie)).text();
    assert.match(
      list,
      new RegExp(`<table id="to-decide">.*href="/console/request\\?id&#61;${requestId}"`, 's'),
    );
    const detail = await (await get(`/console/request?id=${requestId}`, alice.cookie)).text();
    assert.match(
      detail,
      /Approve only when the reason justifies read the values of secret vault\/root once by user:bob/,
    );
    const ok = await post(
      '/console/request/approve',
      { csrf: alice.csrf, id: requestId, comment: 'fine' },
      alice.cookie,
    );
    assert.equal(ok.status, 303);
    const after = await (await get(ok.headers.get('location') ?? '', alice.cookie)).text();
    assert.match(after, /Approved \(1 of 2\); it waits for 1 more/);
    assert.match(after, /You have decided on this request/);
    const twice = await post('/console/request/approve', { csrf: alice.csrf, id: requestId }, alice.cookie);
    assert.equal(twice.status, 400);
    assert.match(await twice.text(), /You already approved this request: each approver counts once/);
    const aliceList = await (await get('/console/requests', alice.cookie)).text();
    assert.match(aliceList, /No request waits for you/, 'decided requests leave the to-decide table');

    const carol = await login('carol');
    const done = await post('/console/request/approve', { csrf: carol.csrf, id: requestId }, carol.cookie);
    assert.equal(done.status, 303);
    assert.equal(api.requests.get(requestId)?.status, 'approved');

    const bob = await login('bob');
    const mine = await (await get(`/console/request?id=${requestId}`, bob.cookie)).text();
    assert.match(mine, /Approved: you may read the values of secret vault\/root once/);
    assert.match(mine, /href="\/console\/secret\?path&#61;vault%2Froot" id="use"/);
    const first = await post(
      '/console/secret/reveal',
      { csrf: bob.csrf, path: 'vault/root', version: '0' },
      bob.cookie,
    );
    assert.equal(first.status, 200);
    assert.match(await first.text(), /behind-approval/);
    const second = await post(
      '/console/secret/reveal',
      { csrf: bob.csrf, path: 'vault/root', version: '0' },
      bob.cookie,
    );
    assert.equal(second.status, 403);
    const again = await second.text();
    assert.match(again, /Approval required/);
    assert.doesNotMatch(again, /behind-approval/);
  });

  it('deny ends a request; only the requester cancels; unknown and malformed IDs are clear', async () => {
    const bob = await login('bob');
    await post(
      '/console/request/file',
      { csrf: bob.csrf, operation: 'read', target: 'vault/root', reason: 'again' },
      bob.cookie,
    );
    const id = [...api.requests.keys()].at(-1) ?? '';
    const alice = await login('alice');
    const cancel = await post('/console/request/cancel', { csrf: alice.csrf, id }, alice.cookie);
    assert.equal(cancel.status, 403);
    assert.match(await cancel.text(), /only the requester \(user:bob\) cancels a request/);
    const deny = await post(
      '/console/request/deny',
      { csrf: alice.csrf, id, comment: 'not now' },
      alice.cookie,
    );
    assert.equal(deny.status, 303);
    assert.equal(api.requests.get(id)?.status, 'denied');
    assert.deepEqual(api.calls.at(-1)?.body, { id, comment: 'not now' });
    const late = await post('/console/request/approve', { csrf: alice.csrf, id }, alice.cookie);
    assert.match(await late.text(), /this request is denied, no longer pending/);
    const unknown = await get('/console/request?id=nosuchrequestAAAAAAAAAAAAAA', alice.cookie);
    assert.equal(unknown.status, 404);
    const malformed = await get('/console/request?id=%3Cscript%3E', alice.cookie);
    assert.equal(malformed.status, 400);
    assert.doesNotMatch(await malformed.text(), /<script>/);
    const bad = await post('/console/request/approve', { csrf: alice.csrf, id: 'x' }, alice.cookie);
    assert.equal(bad.status, 400);
  });

  it('the policy form shows and keeps a policy’s approval rule', async () => {
    const erin = await login('erin');
    const saved = await post(
      '/console/policy/save',
      {
        csrf: erin.csrf,
        name: 'vault',
        pathPattern: '^vault/.*$',
        permissions: 'read',
        groups: 'infra',
        approvalRequired: '2',
        approverGroups: 'infra\nsecurity',
        approvalPermissions: 'read',
        grantTtlSeconds: '600',
      },
      erin.cookie,
    );
    assert.equal(saved.status, 303);
    assert.deepEqual(api.policies.get('vault')?.approval, {
      required: 2,
      approverGroups: ['infra', 'security'],
      permissions: ['read'],
      grantTtlSeconds: 600,
    });
    const page = await (await get('/console/policy?name=vault', erin.cookie)).text();
    assert.match(page, /name="approvalRequired" type="number" min="1" max="9" value="2"/);
    assert.match(page, /<textarea name="approverGroups"[^>]*>infra\nsecurity<\/textarea>/);
    assert.match(page, /name="approvalPermissions" value="read" checked/);
    const none = await post(
      '/console/policy/save',
      { csrf: erin.csrf, name: 'plain', pathPattern: '^p/.*$', permissions: 'read', groups: 'infra' },
      erin.cookie,
    );
    assert.equal(none.status, 303);
    assert.equal('approval' in (api.policies.get('plain') ?? {}), false, 'no rule unless a number is given');
  });
});
