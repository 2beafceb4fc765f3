/**
 * One-shot JWT helpers over the Workload API: each opens a client, makes one call and closes it.
 */
import type { JSONWebKeySet } from 'jose';
import { WorkloadApiClient } from './workload-client.ts';
import type { JwtSvid, ValidatedJwtSvid, WorkloadClientOptions } from './workload-client.ts';
import type { JwtBundlesResponseMessage } from './proto.ts';

export interface JwtCallOptions extends WorkloadClientOptions {
  /** Deadline, milliseconds (default 30 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_JWKS_BYTES = 1024 * 1024;

/**
 * Fetches the default JWT-SVID (or the one for `spiffeId`) for `audience`.
 * The returned token is a bearer credential: never log it.
 */
export async function fetchJwtSvid(
  options: JwtCallOptions & { audience: string | readonly string[]; spiffeId?: string },
): Promise<JwtSvid> {
  const audience = typeof options.audience === 'string' ? [options.audience] : options.audience;
  const client = new WorkloadApiClient(options);
  try {
    const svids = await client.fetchJwtSvids(audience, options.spiffeId ?? '', options);
    const first = svids[0];
    if (first === undefined) throw new Error('the Workload API returned no JWT-SVID');
    return first;
  } finally {
    client.close();
  }
}

/** Asks the Workload API to validate `token` for `audience`; rejects with INVALID_ARGUMENT if invalid. */
export async function validateJwtSvid(
  options: JwtCallOptions & { token: string; audience: string },
): Promise<ValidatedJwtSvid> {
  const client = new WorkloadApiClient(options);
  try {
    return await client.validateJwtSvid(options.token, options.audience, options);
  } finally {
    client.close();
  }
}

/** Fetches the current JWT bundles: JWKS per trust domain name (e.g. `spike.ist`). */
export async function fetchJwtBundles(options: JwtCallOptions = {}): Promise<Map<string, JSONWebKeySet>> {
  const client = new WorkloadApiClient(options);
  const stream = client.fetchJwtBundlesStream();
  try {
    const message = await new Promise<JwtBundlesResponseMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for JWT bundles from ${client.endpoint.url}`)),
        options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
      stream.once('data', (m: JwtBundlesResponseMessage) => {
        clearTimeout(timer);
        resolve(m);
      });
      stream.once('error', (err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
      stream.once('end', () => {
        clearTimeout(timer);
        reject(new Error('the JWT bundle stream ended without a message'));
      });
    });
    return parseJwtBundles(message);
  } finally {
    stream.removeAllListeners('error');
    stream.on('error', () => undefined);
    stream.cancel();
    client.close();
  }
}

/** Decodes a `JWTBundlesResponse` into JWKS documents keyed by trust domain name. */
export function parseJwtBundles(message: JwtBundlesResponseMessage): Map<string, JSONWebKeySet> {
  const out = new Map<string, JSONWebKeySet>();
  for (const [key, bytes] of Object.entries(message.bundles)) {
    if (bytes.byteLength > MAX_JWKS_BYTES) throw new Error(`JWT bundle for ${key} is too large`);
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      !Array.isArray((parsed as { keys?: unknown }).keys)
    ) {
      throw new Error(`JWT bundle for ${key} is not a JWK set`);
    }
    out.set(trustDomainFromBundleKey(key), parsed as JSONWebKeySet);
  }
  return out;
}

/** Bundle map keys are `spiffe://<td>`; a bare trust domain name is accepted too. */
export function trustDomainFromBundleKey(key: string): string {
  return key.startsWith('spiffe://') ? key.slice('spiffe://'.length) : key;
}
