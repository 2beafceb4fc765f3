/**
 * The console as Nexus mounts it on the people listener (no browser, no identity provider): the
 * pages are reachable without a token and carry the security headers, a form post without a
 * session changes nothing, the API next to it still needs a token, an identity provider that
 * cannot be reached gives a clear page, and an unreadable client secret file stops the start.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { startConsoleNexus, type ConsoleNexus } from './fixtures.ts';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One HTTPS request to the people listener (its test certificate is self-signed). */
function send(
  base: string,
  path: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method: options.method ?? 'GET',
        rejectUnauthorized: false,
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('console mounted on the people listener', () => {
  let nx: ConsoleNexus;

  before(async () => {
    // An issuer nobody answers at: the console contacts it only when someone logs in.
    nx = await startConsoleNexus({
      issuer: 'http://127.0.0.1:9/realms/none',
      clientId: 'spike-console',
      clientSecret: 's',
    });
  });
  after(async () => {
    await nx?.close();
  });

  it('serves its pages without a token, with the security headers', async () => {
    const root = await send(nx.base, '/console/');
    assert.equal(root.status, 303);
    assert.equal(root.headers.location, '/console/secrets');
    const page = await send(nx.base, '/console/secrets');
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/console/login?next=%2Fconsole%2Fsecrets');
    for (const r of [root, page, await send(nx.base, '/console/style.css')]) {
      assert.equal(
        r.headers['content-security-policy'],
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      assert.equal(r.headers['x-frame-options'], 'DENY');
    }
  });

  it('says so when the identity provider cannot be reached', async () => {
    const r = await send(nx.base, '/console/login');
    assert.equal(r.status, 502);
    assert.match(r.text, /The identity provider cannot be reached/);
    assert.equal(r.headers['set-cookie'], undefined, 'no login started');
  });

  it('changes nothing for a form post without a session, and the API still needs a token', async () => {
    const before = nx.auditRecords().length;
    const post = await send(nx.base, '/console/secret/put', {
      method: 'POST',
      body: 'path=a%2Fb&key=k&value=v',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: nx.base },
    });
    assert.equal(post.status, 403);
    assert.match(post.text, /session has ended/);
    assert.equal(nx.auditRecords().length, before, 'no API call was made');
    const api = await send(nx.base, '/v1/store/secrets?action=list', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(api.status, 401);
  });

  it('refuses to start when the client secret file cannot be read', async () => {
    await assert.rejects(
      startConsoleNexus({
        issuer: 'http://127.0.0.1:9/realms/none',
        clientId: 'spike-console',
        clientSecretFile: join(tmpdir(), 'spike-console-no-such-secret'),
      }),
      /console\.clientSecretFile of SPIKE_NEXUS_OIDC_CONFIG cannot be read \(ENOENT\)/,
    );
  });
});
