/**
 * @module people-client
 * The SDK over Nexus's people listener (ADR 0037): HTTPS with the operator's server certificate
 * (optionally a CA file for it), each request carrying `Authorization: Bearer <access token>`
 * from a token provider the caller supplies (the CLI's login cache refreshes it). Same route
 * table, typed client and error classes as the mTLS transport; only the HTTP client differs.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { joinUrl } from '@spike-ts/protocol';
import { createNexusTransport, type HttpClient } from './nexus-transport.ts';
import { createSpikeClientOver, type SpikeClient } from './spike-client.ts';
import { SpikeBadRequestError, SpikeUnauthorizedError } from './spike-error.ts';

export interface PeopleClientOptions {
  /** Base URL of the Nexus people listener (`https://...`). */
  peopleUrl: string;
  /** Returns a valid access token for each request (called once per request). */
  accessToken: () => Promise<string>;
  /** PEM CA certificate(s) for the people listener's server certificate (else the system's). */
  ca?: string | Buffer;
  /** Path of a PEM CA file (read once); ignored when `ca` is given. */
  caFile?: string;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

/** Upper bound on an answer (as the mTLS transport). */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Validates the people listener's URL: absolute `https:` with a host, nothing else. */
export function resolvePeopleUrl(value: string | undefined): string {
  const raw = value?.trim() ?? '';
  if (raw === '') {
    throw new SpikeBadRequestError(
      'No people listener URL: set SPIKE_PEOPLE_URL (or pass it to `spike login`).',
      0,
      'peopleUrl',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SpikeBadRequestError(`The people listener URL '${raw}' is not a valid URL.`, 0, 'peopleUrl');
  }
  if (url.protocol !== 'https:' || url.hostname === '') {
    throw new SpikeBadRequestError(
      `The people listener URL '${raw}' must be an https:// URL with a host (tokens never travel in clear).`,
      0,
      'peopleUrl',
    );
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new SpikeBadRequestError(
      `The people listener URL '${url.origin}' must not carry credentials, a query or a fragment.`,
      0,
      'peopleUrl',
    );
  }
  return joinUrl(url.origin + url.pathname, '');
}

/** An HTTPS client that adds `Authorization: Bearer` to every request. */
export function createBearerHttpClient(opts: {
  accessToken: () => Promise<string>;
  ca?: string | Buffer;
  timeoutMs: number;
}): HttpClient {
  const agent = new Agent({ keepAlive: true, ...(opts.ca === undefined ? {} : { ca: opts.ca }) });
  return {
    async request(url, init) {
      const token = await opts.accessToken();
      if (!/^[\x21-\x7e]+$/.test(token)) {
        throw new SpikeUnauthorizedError('The access token is malformed; run `spike login` again.', 0);
      }
      return new Promise((resolve, reject) => {
        const req = request(
          url,
          {
            method: init.method,
            agent,
            headers: { ...init.headers, authorization: `Bearer ${token}` },
            timeout: init.timeoutMs ?? opts.timeoutMs,
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.byteLength;
              if (size > MAX_RESPONSE_BYTES) {
                req.destroy(
                  new Error(`the answer from ${url} is larger than ${String(MAX_RESPONSE_BYTES)} bytes`),
                );
                return;
              }
              chunks.push(c);
            });
            res.once('end', () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
            );
            res.once('error', reject);
          },
        );
        req.once('timeout', () => {
          const err = new Error(
            `no answer from ${url} within ${String(init.timeoutMs ?? opts.timeoutMs)} ms`,
          );
          (err as Error & { code: string }).code = 'ETIMEDOUT';
          req.destroy(err);
        });
        req.once('error', reject);
        req.end(init.body === undefined ? undefined : Buffer.from(init.body));
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/**
 * A `SpikeClient` for a person: talks to the people listener with bearer tokens.
 *
 * @example
 * ```ts
 * const spike = createPeopleClient({ peopleUrl: 'https://nexus.example:8443', accessToken: async () => token });
 * console.log(await spike.whoami());
 * await spike.close();
 * ```
 */
export function createPeopleClient(opts: PeopleClientOptions): SpikeClient {
  const base = resolvePeopleUrl(opts.peopleUrl);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new SpikeBadRequestError('timeoutMs must be a positive number of milliseconds.', 0, 'timeoutMs');
  }
  let ca = opts.ca;
  if (ca === undefined && opts.caFile !== undefined && opts.caFile.trim() !== '') {
    try {
      ca = readFileSync(opts.caFile.trim());
    } catch (err) {
      throw new SpikeBadRequestError(
        `Cannot read the people listener's CA file ${opts.caFile}: ${(err as Error).message}`,
        0,
        'caFile',
      );
    }
  }
  const http = createBearerHttpClient({
    accessToken: opts.accessToken,
    timeoutMs,
    ...(ca === undefined ? {} : { ca }),
  });
  const transport = createNexusTransport(http, base, timeoutMs);
  return createSpikeClientOver(transport, () => Promise.resolve(http.close()));
}
