/**
 * The web console in a real browser (Debian's Chromium through playwright-core) against a real
 * Nexus with the people listener and a real Keycloak: the Keycloak login page, reveal and hide a
 * value, policies with the server's validation error, the audit view, status, logout that ends
 * the Keycloak session, the 403 page, framing refused, CSRF refused with nothing changed, a
 * `<script>` path inert, keyboard and narrow screens; multi-party approval (a request filed from
 * the refused page, two approvers on the requests page, the grant revealed once). A failed step
 * saves a screenshot and names it in the failure.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { CLIENTS, startKeycloak, TEST_USERS, type Keycloak, type TestUser } from '../support/keycloak.ts';
import { launchChromium, withScreenshot, type TestBrowser } from './browser.ts';
import { startConsoleNexus, type ConsoleNexus } from './fixtures.ts';

const SECRET_VALUE = 'correct-horse-battery-staple';
const VAULT_VALUE = 'left-27-right-4-left-99';

describe('web console in Chromium, real Nexus and Keycloak', { timeout: 900_000 }, () => {
  let keycloak: Keycloak;
  let browser: TestBrowser;
  let nx: ConsoleNexus;
  let base: string;
  let evil: Server;
  let evilBase: string;

  const superuser = (path: string, body: unknown) => nx.superuser(path, body);
  const readSecret = async (path: string): Promise<unknown> =>
    (await superuser('/v1/store/secrets?action=get', { path })).data;

  before(async () => {
    browser = await launchChromium();
    keycloak = await startKeycloak();
    nx = await startConsoleNexus({
      issuer: keycloak.issuer,
      clientId: CLIENTS.console,
      clientSecret: CLIENTS.consoleSecret,
      beforeStart: async (url) => {
        await keycloak.addRedirectUri(CLIENTS.console, `${url}/console/callback`);
        await keycloak.addRedirectUri(CLIENTS.console, `${url}/console/logged-out`);
      },
    });
    base = nx.base;
    await superuser('/v1/acl/policy', {
      name: 'infra-team',
      spiffeidPattern: '',
      pathPattern: '^infra/.*$',
      permissions: ['read', 'list', 'write'],
      groups: ['infra'],
    });
    await superuser('/v1/store/secrets', {
      path: 'infra/db/root',
      values: { password: SECRET_VALUE, user: 'root' },
    });
    await superuser('/v1/store/secrets', { path: 'cloud/master', values: { key: 'not-for-infra' } });
    // A foreign site: a page that frames the console, and one with a form posting to it.
    evil = createHttpServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      // The logged-out page renders without a session: framed, it would show the console itself.
      if (req.url === '/frame')
        res.end(`<h1>evil</h1><iframe name="c" src="${base}/console/logged-out"></iframe>`);
      else {
        res.end(
          `<form method="post" action="${base}/console/secret/put"><input name="path" value="infra/db/root">` +
            `<input name="key" value="password"><input name="value" value="pwned"><button id="go">go</button></form>`,
        );
      }
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilBase = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  });

  after(async () => {
    await browser?.close();
    await nx?.close();
    await keycloak?.stop();
    await new Promise<void>((resolve) => (evil === undefined ? resolve() : evil.close(() => resolve())));
  });

  /** One test's steps: a screenshot and Nexus's last log lines when they fail. */
  const step = (page: Page, name: string, body: () => Promise<void>): Promise<void> =>
    withScreenshot(
      browser,
      page,
      name,
      body,
      () => `  last Nexus log lines:\n${nx.logs.slice(-12).join('')}`,
    );

  /** Opens the console and logs in on Keycloak's own login page; ends on the secrets page. */
  async function login(page: Page, user: TestUser, expectPage = /\/console\/secrets$/): Promise<void> {
    await page.goto(`${base}/console/`);
    await page.waitForURL((u) => u.origin === new URL(keycloak.baseUrl).origin);
    await page.fill('#username', user);
    await page.fill('#password', TEST_USERS[user].password);
    await page.click('#kc-login');
    await page.waitForURL((u) => u.origin === base && expectPage.test(u.pathname));
  }

  /** The audit file's records of one person through the console door. */
  const consoleRecords = (principal: string): Record<string, unknown>[] =>
    nx.auditRecords().filter((r) => r.door === 'console' && r.principal === principal);

  it('alice logs in on the Keycloak page, reveals a value (audited) and hides it again', async () => {
    const page = await browser.newPage();
    await step(page, 'reveal', async () => {
      await login(page, 'alice');
      assert.equal(await page.locator('h1').textContent(), 'Secrets');
      assert.match((await page.locator('header .who').textContent()) ?? '', /user:alice \(user\)/);
      // alice may read infra/ but not list every path: she opens the secret by its path
      assert.match((await page.locator('main').textContent()) ?? '', /no policy lets you list secrets/);
      await page.fill('input[name="path"]', 'infra/db/root');
      await page.click('button:text("Open")');
      assert.equal(await page.locator('h1').textContent(), 'Secret infra/db/root');
      assert.doesNotMatch(await page.content(), new RegExp(SECRET_VALUE), 'no value before the reveal');
      const before = consoleRecords('user:alice').length;
      await page.click('button:text("Reveal version 1")');
      assert.equal(await page.locator('#revealed td.value').first().textContent(), SECRET_VALUE);
      const reads = consoleRecords('user:alice').slice(before);
      assert.ok(
        reads.some(
          (r) =>
            r.route === '/v1/store/secrets' &&
            r.action === 'get' &&
            r.path === 'infra/db/root' &&
            r.decision === 'allowed',
        ),
        `the reveal is audited with door console: ${JSON.stringify(reads)}`,
      );
      await page.click('#hide');
      await page.waitForURL(`${base}/console/secret?path=infra%2Fdb%2Froot`);
      assert.doesNotMatch(await page.content(), new RegExp(SECRET_VALUE), 'hidden again');
      // a new version, then delete and undelete it
      await page.fill('input[name="key"] >> nth=0', 'password');
      await page.fill('textarea[name="value"] >> nth=0', 'second');
      await page.click('button:text("Save new version")');
      assert.match((await page.locator('.flash.ok').textContent()) ?? '', /Saved a new version/);
      assert.deepEqual(await readSecret('infra/db/root'), { password: 'second' });
      await page.click('button:text("Delete version 2")');
      assert.match((await page.locator('.flash.ok').textContent()) ?? '', /Deleted version 2/);
      await page.click('button:text("Undelete version 2")');
      assert.match((await page.locator('.flash.ok').textContent()) ?? '', /Undeleted version 2/);
      assert.deepEqual(await readSecret('infra/db/root'), { password: 'second' });
      // outside alice's policy: the 403 page, nothing shown
      await page.goto(`${base}/console/secret?path=cloud%2Fmaster`);
      assert.equal(await page.locator('h1').textContent(), 'Not allowed');
    });
  });

  it('erin (admin) creates a policy, sees the server’s validation error, the audit view and the status', async () => {
    const page = await browser.newPage();
    await step(page, 'policy-audit', async () => {
      await login(page, 'erin');
      // an admin lists every path: the tree links to each secret
      assert.equal(await page.locator('a[href="/console/secret?path=infra%2Fdb%2Froot"]').count(), 1);
      await page.goto(`${base}/console/policy/new`);
      await page.fill('input[name="name"]', 'bad name!');
      await page.fill('input[name="pathPattern"]', '^trustees/.*$');
      await page.check('input[name="permissions"][value="read"]');
      await page.fill('textarea[name="groups"]', 'trustees');
      await page.click('button:text("Save policy")');
      assert.match((await page.locator('#policy-error').textContent()) ?? '', /Not saved: .*api_bad_request/);
      assert.equal(await page.inputValue('textarea[name="groups"]'), 'trustees', 'what was entered is kept');
      await page.fill('input[name="name"]', 'trustees-read');
      await page.click('button:text("Save policy")');
      await page.waitForURL(`${base}/console/policy?name=trustees-read`);
      assert.match((await page.locator('.flash.ok').textContent()) ?? '', /Saved policy trustees-read/);
      const stored = await superuser('/v1/acl/policy?action=list', {});
      assert.ok((stored.policies as { name: string }[]).some((p) => p.name === 'trustees-read'));
      await page.goto(`${base}/console/audit?principal=user%3Aerin&limit=50`);
      const table = (await page.locator('#audit').textContent()) ?? '';
      assert.match(table, /console/);
      assert.match(table, /\/v1\/acl\/policy/);
      assert.match(table, /trustees-read/);
      await page.goto(`${base}/console/status`);
      assert.match((await page.locator('#nexus').textContent()) ?? '', /Ready\s*true/);
      // delete it again through the console
      await page.goto(`${base}/console/policy?name=trustees-read`);
      await page.click('button:text("Delete policy trustees-read")');
      await page.waitForURL(`${base}/console/policies`);
      const left = await superuser('/v1/acl/policy?action=list', {});
      assert.ok(!(left.policies as { name: string }[]).some((p) => p.name === 'trustees-read'));
    });
  });

  it('logout ends the Keycloak session: the next visit asks for the password again', async () => {
    const page = await browser.newPage();
    await step(page, 'logout', async () => {
      await login(page, 'alice');
      await page.click('button:text("Log out")');
      await page.waitForURL(`${base}/console/logged-out`);
      assert.equal(await page.locator('h1').textContent(), 'Logged out');
      await page.goto(`${base}/console/secrets`);
      await page.waitForURL((u) => u.origin === new URL(keycloak.baseUrl).origin);
      assert.ok(await page.locator('#password').isVisible(), 'Keycloak asks for the password');
    });
  });

  it('dave, whose groups grant nothing, gets a clear 403 page', async () => {
    const page = await browser.newPage();
    await step(page, 'forbidden', async () => {
      await login(page, 'dave');
      const landing = await page.goto(`${base}/console/secrets`);
      assert.equal(landing?.status(), 403);
      assert.match(
        (await page.locator('main').textContent()) ?? '',
        /logged in as user:dave \(no groups\), and no policy lets you list secrets/,
      );
      const opened = await page.goto(`${base}/console/secret?path=infra%2Fdb%2Froot`);
      assert.equal(opened?.status(), 403);
      assert.equal(await page.locator('h1').textContent(), 'Not allowed');
      assert.doesNotMatch(await page.content(), new RegExp(SECRET_VALUE));
    });
  });

  it('refuses to be framed', async () => {
    const page = await browser.newPage();
    await step(page, 'frame', async () => {
      await login(page, 'alice');
      const framed = page.waitForResponse((r) => r.url() === `${base}/console/logged-out`);
      await page.goto(`${evilBase}/frame`);
      // The console answers the framed request with headers that forbid framing ...
      const answer = await framed;
      assert.match(answer.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
      assert.equal(answer.headers()['x-frame-options'], 'DENY');
      // ... and Chromium shows its own error page in the frame, never the console. The frame may
      // already be Chromium's error document (or have been replaced), so a frame whose content
      // cannot be read shows no console either.
      const frames = page.frames().filter((f) => f !== page.mainFrame());
      assert.equal(frames.length, 1, 'the foreign page has one frame');
      const frame = frames[0] as (typeof frames)[number];
      const brands = await frame
        .locator('header .brand')
        .count()
        .catch(() => 0);
      assert.equal(brands, 0, `the frame shows the console (${frame.url()})`);
      const direct = await page.goto(`${base}/console/logged-out`);
      assert.equal(direct?.status(), 200, 'the same page loads when not framed');
    });
  });

  it('refuses form posts without the CSRF token, with a wrong one or from another site; nothing changes', async () => {
    const page = await browser.newPage();
    await step(page, 'csrf', async () => {
      await login(page, 'alice');
      const before = await readSecret('infra/db/root');
      const request = page.context().request;
      const put = (form: Record<string, string>, headers: Record<string, string>) =>
        request.post(`${base}/console/secret/put`, { form, headers, maxRedirects: 0 });
      const token = await page.locator('input[name="csrf"]').first().inputValue();
      const attempts = [
        await put({ path: 'infra/db/root', key: 'password', value: 'pwned' }, { origin: base }),
        await put(
          { csrf: 'A'.repeat(43), path: 'infra/db/root', key: 'password', value: 'pwned' },
          { origin: base },
        ),
        await put(
          { csrf: token, path: 'infra/db/root', key: 'password', value: 'pwned' },
          { origin: evilBase },
        ),
      ];
      for (const r of attempts) {
        assert.equal(r.status(), 403);
        assert.match(await r.text(), /nothing was changed/);
      }
      // a real cross-site form: the Strict session cookie does not go along
      await page.goto(evilBase);
      await page.click('#go');
      await page.waitForURL(`${base}/console/secret/put`);
      assert.equal(await page.locator('h1').textContent(), 'Refused');
      assert.deepEqual(await readSecret('infra/db/root'), before);
    });
  });

  it('renders a <script> path as inert text, in the page and in the audit view', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await step(page, 'script-path', async () => {
      await login(page, 'erin');
      const evilPath = 'x/<script>alert(1)</script>';
      // a reveal of a path no store accepts: refused by the server, recorded in the audit log
      const token = await page.locator('input[name="csrf"]').first().inputValue();
      const r = await page.context().request.post(`${base}/console/secret/reveal`, {
        form: { csrf: token, path: evilPath, version: '0' },
        headers: { origin: base },
      });
      assert.equal(r.status(), 400);
      await page.goto(`${base}/console/audit?path=${encodeURIComponent(evilPath)}`);
      assert.equal(await page.inputValue('input[name="path"]'), evilPath);
      await page.goto(`${base}/console/audit?principal=user%3Aerin`);
      assert.match((await page.locator('#audit').textContent()) ?? '', /x\/<script>alert\(1\)<\/script>/);
      assert.equal(await page.locator('script').count(), 0, 'no script element on the page');
      await page.goto(`${base}/console/secret?path=${encodeURIComponent(evilPath)}`);
      assert.equal(await page.locator('script').count(), 0);
      assert.deepEqual(dialogs, []);
    });
  });

  it('bob asks for access on the refused page, alice and carol approve, bob reveals once', async () => {
    await superuser('/v1/store/secrets', { path: 'trustees/vault', values: { combination: VAULT_VALUE } });
    await superuser('/v1/acl/policy', {
      name: 'trustees-vault',
      spiffeidPattern: '',
      pathPattern: '^trustees/vault$',
      permissions: ['read'],
      groups: ['trustees'],
      approval: { required: 2, approverPeople: ['user:alice', 'user:carol'], permissions: ['read'] },
    });
    const bob = await browser.newPage();
    let requestUrl = '';
    await step(bob, 'request-access', async () => {
      await login(bob, 'bob');
      await bob.goto(`${base}/console/secret?path=trustees%2Fvault`);
      await bob.click('button:text("Reveal version 1")');
      assert.equal(await bob.locator('h1').textContent(), 'Approval required');
      assert.doesNotMatch(await bob.content(), new RegExp(VAULT_VALUE));
      await bob.fill('textarea[name="reason"]', 'quarterly vault audit <b>now</b>');
      await bob.click('button:text("Request access")');
      await bob.waitForURL((u) => u.pathname === '/console/request');
      requestUrl = bob.url();
      assert.match(
        (await bob.locator('.flash.ok').textContent()) ?? '',
        /Request filed: it needs 2 approval/,
      );
      assert.equal(await bob.locator('#reason').textContent(), 'quarterly vault audit <b>now</b>');
      assert.equal(
        await bob.locator('form[action="/console/request/approve"]').count(),
        0,
        'no approve form',
      );
      // approving his own request (a forged form) is refused with a clear message
      const token = await bob.locator('input[name="csrf"]').first().inputValue();
      const id = new URL(requestUrl).searchParams.get('id') ?? '';
      const own = await bob.context().request.post(`${base}/console/request/approve`, {
        form: { csrf: token, id },
        headers: { origin: base },
        maxRedirects: 0,
      });
      assert.equal(own.status(), 403);
      assert.match(await own.text(), /You cannot approve your own request/);
      // the new forms need the CSRF token too
      const forged = await bob.context().request.post(`${base}/console/request/file`, {
        form: { operation: 'read', target: 'trustees/vault', reason: 'again' },
        headers: { origin: base },
        maxRedirects: 0,
      });
      assert.equal(forged.status(), 403);
      assert.match(await forged.text(), /nothing was changed/);
    });
    for (const approver of ['alice', 'carol'] as const) {
      const page = await browser.newPage();
      await step(page, `approve-${approver}`, async () => {
        await login(page, approver);
        await page.click('nav a:text("Requests")');
        await page.waitForURL(`${base}/console/requests`);
        await page.click(`#to-decide a[href="${new URL(requestUrl).pathname}${new URL(requestUrl).search}"]`);
        assert.match((await page.locator('main').textContent()) ?? '', /once by user:bob/);
        await page.fill(
          'form[action="/console/request/approve"] textarea[name="comment"]',
          `ok from ${approver}`,
        );
        await page.click('button:text("Approve")');
        assert.match((await page.locator('.flash.ok').textContent()) ?? '', /Approved \(\d of 2\)/);
      });
    }
    await step(bob, 'reveal-once', async () => {
      await bob.goto(requestUrl);
      assert.equal(await bob.locator('#status').textContent(), 'approved');
      await bob.click('#use');
      await bob.click('button:text("Reveal version 1")');
      assert.equal(await bob.locator('#revealed td.value').first().textContent(), VAULT_VALUE);
      await bob.click('#hide');
      await bob.click('button:text("Reveal version 1")');
      assert.equal(await bob.locator('h1').textContent(), 'Approval required', 'the grant was used once');
      assert.doesNotMatch(await bob.content(), new RegExp(VAULT_VALUE));
    });
  });

  it('works by keyboard and at a narrow width', async () => {
    const page = await browser.newPage({ width: 360, height: 740 });
    await step(page, 'narrow', async () => {
      await login(page, 'alice');
      await page.goto(`${base}/console/secret?path=infra%2Fdb%2Froot`);
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      assert.ok(overflow <= 0, `no sideways scrolling of the page (${overflow}px)`);
      await page.keyboard.press('Tab');
      assert.equal(await page.locator(':focus').textContent(), 'Skip to content');
      // reach the first Reveal button by keyboard and press it
      for (let i = 0; i < 40; i += 1) {
        await page.keyboard.press('Tab');
        if ((await page.locator(':focus').textContent()) === 'Reveal version 1') break;
      }
      await page.keyboard.press('Enter');
      await page.waitForSelector('#revealed');
      assert.equal(await page.locator('#values').textContent(), 'Values of version 1');
      assert.equal(await page.locator('#revealed td.value').first().textContent(), SECRET_VALUE);
    });
  });
});
