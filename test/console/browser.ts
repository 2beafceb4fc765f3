/**
 * Chromium for the console's browser tests: Debian's `chromium` package (installed by .ci/run)
 * driven by `playwright-core`, headless, with a fresh profile folder per launch (playwright makes
 * a temporary one and removes it) and a fresh cookie jar per person (`newPage`), no network of
 * its own (no updates, sync or background requests) and no sandbox (the tests also run as root,
 * where Chromium's sandbox refuses to start). `withScreenshot` saves a screenshot of the page
 * when a test step fails and names the file in the error.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Where Debian's package puts the browser (`SPIKE_CHROMIUM` overrides). */
export const CHROMIUM_PATH = process.env.SPIKE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

export class ChromiumMissingError extends Error {
  constructor() {
    super(
      `Chromium is not installed at ${CHROMIUM_PATH}: the console's browser tests need it. ` +
        "Install Debian's package (`apt-get install chromium`; .ci/run does it) or set SPIKE_CHROMIUM to a Chromium binary.",
    );
    this.name = 'ChromiumMissingError';
  }
}

export interface TestBrowser {
  readonly browser: Browser;
  /** Folder screenshots of failed steps go to. */
  readonly artifactsDir: string;
  /** A page in a context of its own (own cookies: one person); the test certificate is self-signed. */
  newPage(options?: { width?: number; height?: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Starts Chromium; fails with a message saying what to install when it is missing. */
export async function launchChromium(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) throw new ChromiumMissingError();
  const artifactsDir =
    process.env.SPIKE_TEST_ARTIFACTS ??
    join(tmpdir(), `spike-console-artifacts-${process.getuid?.() ?? 'u'}`);
  await mkdir(artifactsDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    artifactsDir,
    async newPage(options = {}) {
      const context = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: options.width ?? 1024, height: options.height ?? 768 },
      });
      context.setDefaultTimeout(20_000);
      contexts.push(context);
      return context.newPage();
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
    },
  };
}

/** Runs a test step; on failure saves a screenshot of `page` and names it (and its folder) in the error. */
export async function withScreenshot<T>(
  browser: TestBrowser,
  page: Page,
  name: string,
  step: () => Promise<T>,
  /** More to say on failure (e.g. the server's last log lines). */
  more: () => string = () => '',
): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const file = join(browser.artifactsDir, `${name.replace(/[^A-Za-z0-9_-]+/g, '-')}-${Date.now()}.png`);
    const saved = await page
      .screenshot({ path: file, fullPage: true })
      .then(() => `screenshot: ${file}`)
      .catch((e: unknown) => `no screenshot (${(e as Error).message})`);
    const why = err instanceof Error ? err.message : String(err);
    const extra = more();
    throw new Error(`${name}: ${why}\n  page: ${page.url()}\n  ${saved}${extra === '' ? '' : `\n${extra}`}`, {
      cause: err,
    });
  }
}
