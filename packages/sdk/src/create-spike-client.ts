/**
 * @module create-spike-client
 * Composes a `SpikeClient`: SVID source (Workload API unless given), an mTLS HTTP client that
 * accepts only a server presenting a Nexus SPIFFE ID (every URL's server is checked), keep-alive
 * connections, and the Nexus URL(s) from the options or `SPIKE_NEXUS_API_URL` (ADR 0033).
 */
import { DEFAULT_NEXUS_API_URL, joinUrl } from '@spike-ts/protocol';
import { createMtlsClient, createX509Source, isNexus, trustRootsFromEnv } from '@spike-ts/identity/client';
import {
  readSetting,
  SettingsError,
  SPIKE_HTTP_CLIENT_TIMEOUT,
  SPIKE_NEXUS_API_URL,
  type Setting,
} from '@spike-ts/settings';
import { createNexusTransport } from './nexus-transport.ts';
import type { HttpClient } from './nexus-transport.ts';
import { createSpikeClientOver } from './spike-client.ts';
import type { SpikeClient } from './spike-client.ts';
import { SpikeBadRequestError } from './spike-error.ts';
import type { SpikeClientOptions } from './types.ts';

/**
 * Create a client for SPIKE Nexus.
 *
 * @example
 * ```ts
 * const spike = await createSpikeClient({ nexusUrl: 'https://nexus.internal:8553' });
 * try {
 *   const creds = await spike.getSecret('tenants/demo/db/creds');
 * } finally {
 *   await spike.close();
 * }
 * ```
 */
export async function createSpikeClient(opts: SpikeClientOptions = {}): Promise<SpikeClient> {
  const env = opts.env ?? process.env;
  const nexusUrls = resolveNexusUrls(opts.nexusUrl ?? fromEnv(env, SPIKE_NEXUS_API_URL));
  const timeoutMs = opts.timeoutMs ?? fromEnv(env, SPIKE_HTTP_CLIENT_TIMEOUT);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new SpikeBadRequestError('timeoutMs must be a positive number of milliseconds.', 0, 'timeoutMs');
  }
  const ownsSource = opts.source === undefined;
  // The source reads SPIFFE_ENDPOINT_SOCKET and SPIKE_SPIFFE_SOURCE_TIMEOUT (30 s) itself.
  const source = opts.source ?? (await createX509Source({ env: { ...env } }));
  let http: HttpClient;
  try {
    const roots = trustRootsFromEnv(env);
    http = createMtlsClient(source, {
      authorizeServer: (id) => isNexus(id, roots),
      keepAlive: true,
      timeoutMs,
    });
  } catch (err) {
    if (ownsSource) await source.close();
    throw err;
  }
  const transport = createNexusTransport(http, nexusUrls, timeoutMs);
  return createSpikeClientOver(transport, async () => {
    await http.close();
    if (ownsSource) await source.close();
  });
}

/**
 * Validate one or several Nexus base URLs (an array, or a comma-separated string as
 * `SPIKE_NEXUS_API_URL` takes it): each as `resolveNexusUrl`, no empty entries, no duplicates.
 * Unset or blank: the default URL alone.
 */
export function resolveNexusUrls(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [resolveNexusUrl(undefined)];
  const entries = typeof value === 'string' ? value.split(',').map((e) => e.trim()) : [...value];
  if (entries.length === 1) return [resolveNexusUrl(entries[0])];
  const urls: string[] = [];
  for (const [i, entry] of entries.entries()) {
    if (entry.trim() === '') {
      throw new SpikeBadRequestError(`Nexus URL entry ${String(i + 1)} is empty.`, 0, 'nexusUrl');
    }
    const url = resolveNexusUrl(entry);
    const first = urls.indexOf(url);
    if (first !== -1) {
      throw new SpikeBadRequestError(
        `Nexus URL entry ${String(i + 1)} is a duplicate of entry ${String(first + 1)}.`,
        0,
        'nexusUrl',
      );
    }
    urls.push(url);
  }
  return urls;
}

/** Validate the Nexus base URL: absolute `https:` with a host, no credentials, query or fragment. */
export function resolveNexusUrl(value: string | undefined): string {
  const raw = value === undefined || value.trim() === '' ? DEFAULT_NEXUS_API_URL : value.trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SpikeBadRequestError(`The Nexus URL '${raw}' is not a valid URL.`, 0, 'nexusUrl');
  }
  if (url.protocol !== 'https:' || url.hostname === '') {
    throw new SpikeBadRequestError(
      `The Nexus URL '${raw}' must be an https:// URL with a host.`,
      0,
      'nexusUrl',
    );
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new SpikeBadRequestError(
      `The Nexus URL '${url.origin}' must not carry credentials, a query or a fragment.`,
      0,
      'nexusUrl',
    );
  }
  return joinUrl(url.origin + url.pathname, '');
}

/** A variable by the settings table's rule; an invalid value is a bad request naming it. */
function fromEnv<T>(env: Readonly<Record<string, string | undefined>>, setting: Setting<T>): T {
  try {
    return readSetting(env, setting);
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    throw new SpikeBadRequestError(`${err.message}.`, 0, setting.name);
  }
}
