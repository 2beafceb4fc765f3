/**
 * @module nexus-failover
 * The failover rules for several Nexus URLs (ADR 0033): in which order the URLs are tried, which
 * failures may move a request to the next URL, and how the URLs that failed are remembered for a
 * short while. Kept apart from the transport so the rules read in one place.
 */
import { MtlsConnectionError } from '@spike-ts/identity/client';

/** How long a URL that failed is tried only after the others. */
export const FAILED_URL_COOLDOWN_MS = 10_000;

/** Error codes of failures that happen before a connection exists: nothing was sent. */
const NOT_CONNECTED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|DEPTH_ZERO|SELF_SIGNED)/;

/**
 * True when the transport failure `err` (what the HTTP client threw) certainly came before the
 * request could reach a server: refused or unroutable connections, failed TLS handshakes or
 * server-identity checks, timeouts while connecting. A reset or a timeout on a connection that
 * was up is not: the server may have received (and acted on) the request.
 */
export function failedBeforeSending(err: unknown): boolean {
  if (err instanceof MtlsConnectionError && err.requestSent !== undefined) return !err.requestSent;
  const inner = err instanceof MtlsConnectionError ? err.cause : err;
  const code = (inner as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (NOT_CONNECTED_CODES.has(code) || TLS_CODE.test(code));
}

/**
 * Whether an HTTP answer moves a request (any route, writes too) to the next URL: only 503.
 * Nexus answers 503 only when the request changed nothing: from its gates before a route acts, or
 * when its database was unreachable before a write's COMMIT was sent (the transaction rolled back).
 * A write whose COMMIT was sent and whose answer was lost is 500 `api_outcome_unknown` (ADR 0032):
 * final, like every other answer, so a write that may have been applied is never sent twice.
 */
export function answerMovesOn(status: number): boolean {
  return status === 503;
}

/** The URLs of one client: which one is in use, which ones failed lately. */
export class NexusUrlRotation {
  readonly urls: readonly string[];
  readonly #failedAt = new Map<string, number>();
  readonly #now: () => number;
  readonly #cooldownMs: number;
  #current: string;

  constructor(urls: readonly string[], now: () => number = Date.now, cooldownMs = FAILED_URL_COOLDOWN_MS) {
    const first = urls[0];
    if (first === undefined) throw new RangeError('at least one Nexus URL is needed');
    this.urls = Object.freeze([...urls]);
    this.#current = first;
    this.#now = now;
    this.#cooldownMs = cooldownMs;
  }

  /** The URL in use: the first one until it fails, then the last one that answered. */
  get current(): string {
    return this.#current;
  }

  /**
   * The order for one request: the URL in use, then the others in list order; URLs that failed
   * within the cool-down come last (oldest failure first), so they are still tried when nothing
   * else answers.
   */
  order(): string[] {
    const now = this.#now();
    const list = [this.#current, ...this.urls.filter((u) => u !== this.#current)];
    const cooling = (u: string): number | undefined => {
      const at = this.#failedAt.get(u);
      return at !== undefined && now - at < this.#cooldownMs ? at : undefined;
    };
    const fresh = list.filter((u) => cooling(u) === undefined);
    const cooled = list
      .filter((u) => cooling(u) !== undefined)
      .sort((a, b) => (cooling(a) ?? 0) - (cooling(b) ?? 0));
    return [...fresh, ...cooled];
  }

  succeeded(url: string): void {
    this.#failedAt.delete(url);
    this.#current = url;
  }

  failed(url: string): void {
    this.#failedAt.set(url, this.#now());
  }
}
