/**
 * Drives Keycloak's login pages with plain HTTP requests, as a person's browser would: a cookie
 * jar, redirects followed by hand, the login form filled in, and the consent or device-approval
 * form accepted. Used by the CLI login tests (device grant and code flow) instead of a browser.
 */

interface Page {
  readonly url: string;
  readonly status: number;
  readonly html: string;
  /** Set when the chain ended in a redirect away from Keycloak (e.g. the CLI's loopback callback). */
  readonly leftTo?: string;
}

interface Form {
  readonly action: string;
  readonly fields: Record<string, string>;
  readonly submitNames: readonly string[];
}

const decode = (s: string): string =>
  s
    .replaceAll('&amp;', '&')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>');

/** The forms of a page: action, hidden/text input values, and the names of submit buttons/inputs. */
export function formsOf(html: string, base: string): Form[] {
  const forms: Form[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = m[1] ?? '';
    const body = m[2] ?? '';
    const action = /\baction="([^"]*)"/i.exec(attrs)?.[1];
    if (action === undefined) continue;
    const fields: Record<string, string> = {};
    const submitNames: string[] = [];
    for (const input of body.matchAll(/<(input|button)\b([^>]*)>/gi)) {
      const a = input[2] ?? '';
      const name = /\bname="([^"]*)"/i.exec(a)?.[1];
      if (name === undefined) continue;
      const type = (
        /\btype="([^"]*)"/i.exec(a)?.[1] ?? (input[1] === 'button' ? 'submit' : 'text')
      ).toLowerCase();
      const value = decode(/\bvalue="([^"]*)"/i.exec(a)?.[1] ?? '');
      if (type === 'submit') submitNames.push(name);
      else if (type !== 'checkbox') fields[name] = value;
    }
    forms.push({ action: new URL(decode(action), base).href, fields, submitNames });
  }
  return forms;
}

export class FormBrowser {
  private readonly cookies = new Map<string, string>();
  private readonly origin: string;

  constructor(keycloakBaseUrl: string) {
    this.origin = new URL(keycloakBaseUrl).origin;
  }

  private remember(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair === undefined || eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** GET or POST, following redirects within Keycloak; a redirect elsewhere is fetched once and reported. */
  async go(url: string, form?: Record<string, string>): Promise<Page> {
    let current = url;
    let init: RequestInit | undefined =
      form === undefined
        ? undefined
        : {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(form).toString(),
          };
    for (let hops = 0; hops < 20; hops++) {
      const onKeycloak = new URL(current).origin === this.origin;
      const res = await fetch(current, {
        ...init,
        redirect: 'manual',
        headers: {
          ...(init?.headers as Record<string, string> | undefined),
          ...(onKeycloak ? { cookie: this.cookieHeader() } : {}),
        },
        signal: AbortSignal.timeout(30_000),
      });
      if (onKeycloak) this.remember(res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location !== null) {
        await res.arrayBuffer();
        const next = new URL(location, current).href;
        init = undefined;
        if (new URL(next).origin !== this.origin) {
          const away = await fetch(next, { signal: AbortSignal.timeout(30_000) });
          return { url: next, status: away.status, html: await away.text(), leftTo: next };
        }
        current = next;
        continue;
      }
      return { url: current, status: res.status, html: await res.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Fills in Keycloak's login form on `page` and submits it. */
  async login(page: Page, username: string, password: string): Promise<Page> {
    const form = formsOf(page.html, page.url).find((f) => 'username' in f.fields || 'password' in f.fields);
    if (form === undefined)
      throw new Error(
        `no login form at ${page.url} (HTTP ${String(page.status)}): ${page.html.slice(0, 300)}`,
      );
    return this.go(form.action, { ...form.fields, username, password, credentialId: '' });
  }

  /** Accepts a consent or device-approval form on `page`, if there is one. */
  async acceptIfAsked(page: Page): Promise<Page> {
    const form = formsOf(page.html, page.url).find((f) => f.submitNames.includes('accept'));
    if (form === undefined) return page;
    return this.go(form.action, { ...form.fields, accept: 'Yes' });
  }
}

/** Approves a device login as `username`: opens the complete verification URL, logs in, accepts. */
export async function approveDevice(
  keycloakBaseUrl: string,
  verificationUriComplete: string,
  username: string,
  password: string,
): Promise<Page> {
  const browser = new FormBrowser(keycloakBaseUrl);
  let page = await browser.go(verificationUriComplete);
  // Some versions first show the code form pre-filled.
  const codeForm = formsOf(page.html, page.url).find((f) => 'device_user_code' in f.fields);
  if (codeForm !== undefined) page = await browser.go(codeForm.action, codeForm.fields);
  page = await browser.login(page, username, password);
  return browser.acceptIfAsked(page);
}

/** Logs in through the code flow's authorization URL; returns the page the redirect led to. */
export async function loginThroughCodeFlow(
  keycloakBaseUrl: string,
  authorizationUrl: string,
  username: string,
  password: string,
): Promise<Page> {
  const browser = new FormBrowser(keycloakBaseUrl);
  const page = await browser.login(await browser.go(authorizationUrl), username, password);
  return page.leftTo !== undefined ? page : browser.acceptIfAsked(page);
}
