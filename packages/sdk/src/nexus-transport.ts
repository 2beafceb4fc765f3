/**
 * @module nexus-transport
 * Sends one request to Nexus over an mTLS HTTP client and turns every failure into a typed
 * `SpikeError`: transport failures become `SpikeConnectionError` (with the URL), error statuses
 * and `err` fields become the error class of their wire code. With several Nexus URLs it fails
 * over by the rules of `nexus-failover.ts` (ADR 0033).
 */
import { CONTENT_TYPE_JSON, CONTENT_TYPE_OCTET_STREAM, joinUrl } from '@spike-ts/protocol';
import type { Action } from '@spike-ts/protocol';
import { MtlsConnectionError } from '@spike-ts/identity/client';
import { answerMovesOn, failedBeforeSending, NexusUrlRotation } from './nexus-failover.ts';
import {
  SpikeConnectionError,
  SpikeError,
  SpikeNotReadyError,
  errorFromWire,
  isSpikeError,
  type NexusAttempt,
} from './spike-error.ts';

/** What the SDK needs from an HTTP client (the identity package's mTLS client fits). */
export interface HttpClient {
  request(
    url: string,
    init: { method: string; headers?: Record<string, string>; body?: Uint8Array; timeoutMs?: number },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
  close(): Promise<void> | void;
}

export interface NexusTransport {
  /** The Nexus base URL in use, without a trailing slash (the first one until it fails). */
  readonly baseUrl: string;
  /** Every configured Nexus base URL, in the order given. */
  readonly baseUrls: readonly string[];
  /**
   * POST a JSON body, return the parsed JSON object of a successful answer. `replaySafe`: the
   * request may be sent again to another Nexus even after it may have reached one (reads).
   */
  postJson(
    path: string,
    action: Action,
    body: unknown,
    replaySafe?: boolean,
  ): Promise<Record<string, unknown>>;
  /** POST raw bytes as `application/octet-stream`, return the raw answer. */
  postBytes(path: string, bytes: Uint8Array, replaySafe?: boolean): Promise<Uint8Array>;
}

export interface NexusTransportOptions {
  /** Clock for the failed-URL cool-down (tests). */
  now?: () => number;
}

type RawAnswer = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };

/** Upper bound on an answer the SDK is willing to parse. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export function createNexusTransport(
  client: HttpClient,
  baseUrls: string | readonly string[],
  timeoutMs: number,
  opts: NexusTransportOptions = {},
): NexusTransport {
  const bases = (typeof baseUrls === 'string' ? [baseUrls] : baseUrls).map((u) => joinUrl(u, ''));
  const rotation = new NexusUrlRotation(bases, opts.now);
  const now = opts.now ?? Date.now;

  /** One request to one URL; transport failures become `SpikeConnectionError`. */
  const sendTo = async (
    base: string,
    path: string,
    action: Action,
    contentType: string,
    body: Uint8Array,
    attemptTimeoutMs: number,
  ): Promise<RawAnswer> => {
    const url = joinUrl(base, path) + (action === '' ? '' : `?action=${action}`);
    try {
      return await client.request(url, {
        method: 'POST',
        headers: {
          'content-type': contentType,
          accept: `${CONTENT_TYPE_JSON}, ${CONTENT_TYPE_OCTET_STREAM}`,
        },
        body,
        timeoutMs: attemptTimeoutMs,
      });
    } catch (err) {
      if (isSpikeError(err)) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof MtlsConnectionError || isNetworkError(err)) {
        throw new SpikeConnectionError(base, `Cannot reach SPIKE Nexus at ${base}: ${reason}`, err);
      }
      throw new SpikeError('unknown', 0, `Request to SPIKE Nexus at ${base} failed: ${reason}`, {
        cause: err,
      });
    }
  };

  const send = async (
    path: string,
    action: Action,
    contentType: string,
    body: Uint8Array,
    replaySafe: boolean,
  ): Promise<RawAnswer> => {
    if (bases.length === 1) {
      const only = rotation.current;
      return sendTo(only, path, action, contentType, body, timeoutMs);
    }
    // Several URLs: each is tried at most once per request, within twice the request timeout.
    const deadline = now() + 2 * timeoutMs;
    const tried: NexusAttempt[] = [];
    let notReady = false;
    for (const base of rotation.order()) {
      const remaining = deadline - now();
      if (remaining <= 0) {
        tried.push({ url: base, reason: 'not tried: the time for this request was spent' });
        continue;
      }
      let res: RawAnswer;
      try {
        res = await sendTo(base, path, action, contentType, body, Math.min(timeoutMs, remaining));
      } catch (err) {
        if (!(err instanceof SpikeConnectionError)) throw err;
        rotation.failed(base);
        tried.push({ url: base, reason: reasonOf(err) });
        if (!replaySafe && !failedBeforeSending(err.cause)) {
          throw new SpikeConnectionError(
            base,
            `SPIKE Nexus at ${base} failed after the request may have reached it (${reasonOf(err)}), so it ` +
              'was not sent to another Nexus URL: a write is never sent twice. Check whether it took effect ' +
              `before trying again.${triedText(tried.slice(0, -1))}`,
            err.cause,
            tried,
          );
        }
        continue;
      }
      if (answerMovesOn(res.status)) {
        // 503: the request changed nothing (see answerMovesOn); 500 api_outcome_unknown is final.
        rotation.failed(base);
        notReady = true;
        const code = wireCodeOf(parseJsonObject(res.body)) ?? '';
        tried.push({ url: base, reason: `answered HTTP 503${code === '' ? '' : ` ${code}`}` });
        continue;
      }
      rotation.succeeded(base);
      return res;
    }
    const list = tried.map((t) => `${t.url} (${t.reason})`).join('; ');
    if (notReady) {
      throw new SpikeNotReadyError(
        `No SPIKE Nexus URL could serve the request; at least one is not ready. Tried: ${list}.`,
      );
    }
    throw new SpikeConnectionError(
      tried[0]?.url ?? rotation.current,
      `Cannot reach SPIKE Nexus at any of its ${String(bases.length)} URLs: ${list}.`,
      undefined,
      tried,
    );
  };

  return {
    get baseUrl() {
      return rotation.current;
    },
    baseUrls: rotation.urls,

    async postJson(path, action, body, replaySafe = false) {
      const json = Buffer.from(JSON.stringify(body), 'utf8');
      const res = await send(path, action, CONTENT_TYPE_JSON, json, replaySafe);
      const parsed = parseJsonObject(res.body);
      const code = wireCodeOf(parsed);
      if (res.status < 200 || res.status > 299) {
        throw parsed === undefined
          ? errorFromWire(res.status, undefined, shortText(res.body))
          : errorFromWire(res.status, code);
      }
      if (code !== undefined && code !== '') throw errorFromWire(res.status, code);
      if (parsed === undefined) {
        throw new SpikeError('unknown', res.status, 'SPIKE Nexus sent an answer that is not a JSON object.');
      }
      return parsed;
    },

    async postBytes(path, bytes, replaySafe = false) {
      const res = await send(path, '', CONTENT_TYPE_OCTET_STREAM, bytes, replaySafe);
      if (res.status < 200 || res.status > 299) {
        const parsed = parseJsonObject(res.body);
        throw parsed === undefined
          ? errorFromWire(res.status, undefined, shortText(res.body))
          : errorFromWire(res.status, wireCodeOf(parsed));
      }
      return new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength);
    },
  };
}

/** Why one URL failed, for the error that lists every URL tried. */
function reasonOf(err: SpikeConnectionError): string {
  const cause: unknown = err.cause;
  const inner: unknown = cause instanceof MtlsConnectionError ? cause.cause : cause;
  if (cause instanceof MtlsConnectionError && inner instanceof Error && !/timed out/.test(cause.message)) {
    return inner.message;
  }
  return cause instanceof Error ? cause.message : err.message;
}

function triedText(tried: readonly NexusAttempt[]): string {
  return tried.length === 0 ? '' : ` Tried before: ${tried.map((t) => `${t.url} (${t.reason})`).join('; ')}.`;
}

/** A raw socket/TLS error from a client that does not wrap them (errno-style `code`). */
function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    /^(E[A-Z]+|ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|DEPTH_ZERO|SELF_SIGNED)/.test(code)
  );
}

function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  if (body.byteLength === 0 || body.byteLength > MAX_RESPONSE_BYTES) return undefined;
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The error code of a JSON answer: `err`, or the keeper-style capital `Err`. */
function wireCodeOf(body: Record<string, unknown> | undefined): string | undefined {
  if (body === undefined) return undefined;
  const code = body['err'] ?? body['Err'];
  return typeof code === 'string' ? code : undefined;
}

/** The start of a plain-text error body (stream mode), for code detection only. */
function shortText(body: Buffer): string {
  return body.subarray(0, 128).toString('utf8');
}
