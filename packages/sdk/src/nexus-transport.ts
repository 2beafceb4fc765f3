/**
 * @module nexus-transport
 * Sends one request to Nexus over an mTLS HTTP client and turns every failure into a typed
 * `SpikeError`: transport failures become `SpikeConnectionError` (with the URL), error statuses
 * and `err` fields become the error class of their wire code.
 */
import { CONTENT_TYPE_JSON, CONTENT_TYPE_OCTET_STREAM, joinUrl } from '@spike-ts/protocol';
import type { Action } from '@spike-ts/protocol';
import { MtlsConnectionError } from '@spike-ts/identity/client';
import { SpikeConnectionError, SpikeError, errorFromWire, isSpikeError } from './spike-error.ts';

/** What the SDK needs from an HTTP client (the identity package's mTLS client fits). */
export interface HttpClient {
  request(
    url: string,
    init: { method: string; headers?: Record<string, string>; body?: Uint8Array; timeoutMs?: number },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
  close(): Promise<void> | void;
}

export interface NexusTransport {
  /** The Nexus base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** POST a JSON body, return the parsed JSON object of a successful answer. */
  postJson(path: string, action: Action, body: unknown): Promise<Record<string, unknown>>;
  /** POST raw bytes as `application/octet-stream`, return the raw answer. */
  postBytes(path: string, bytes: Uint8Array): Promise<Uint8Array>;
}

/** Upper bound on an answer the SDK is willing to parse. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export function createNexusTransport(client: HttpClient, baseUrl: string, timeoutMs: number): NexusTransport {
  const base = joinUrl(baseUrl, '');

  const send = async (
    path: string,
    action: Action,
    contentType: string,
    body: Uint8Array,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> => {
    const url = joinUrl(base, path) + (action === '' ? '' : `?action=${action}`);
    try {
      return await client.request(url, {
        method: 'POST',
        headers: {
          'content-type': contentType,
          accept: `${CONTENT_TYPE_JSON}, ${CONTENT_TYPE_OCTET_STREAM}`,
        },
        body,
        timeoutMs,
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

  return {
    baseUrl: base,

    async postJson(path, action, body) {
      const res = await send(path, action, CONTENT_TYPE_JSON, Buffer.from(JSON.stringify(body), 'utf8'));
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

    async postBytes(path, bytes) {
      const res = await send(path, '', CONTENT_TYPE_OCTET_STREAM, bytes);
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
