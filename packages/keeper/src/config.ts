/**
 * Keeper configuration from SPIKE's environment variables (spike-0.8.2 §8.3): the listen address
 * and the trust roots. Unlike SPIKE, an invalid value is an error naming the variable.
 */
import { readLogLevel, type LogLevel } from '@spike-ts/core';
import { DEFAULT_KEEPER_PORT } from '@spike-ts/protocol';
import { parseGoDuration, trustRootsFromEnv, type TrustRoots } from '@spike-ts/identity';

export type Env = Readonly<Record<string, string | undefined>>;

export interface KeeperConfig {
  readonly host: string | undefined;
  readonly port: number;
  readonly trustRoots: TrustRoots;
  readonly logLevel: LogLevel;
  readonly headersTimeoutMs: number;
}

export class KeeperConfigError extends Error {
  override readonly name = 'KeeperConfigError';
}

/** `:8443`, `8443`, `127.0.0.1:8443`, `[::1]:8443` -> host (undefined = all interfaces) and port. */
export function parseListenAddress(
  value: string,
  variable: string,
): { host: string | undefined; port: number } {
  const v = value.trim();
  let host: string | undefined;
  let portText: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0 || v[end + 1] !== ':') throw new KeeperConfigError(`${variable}: expected [host]:port`);
    host = v.slice(1, end);
    portText = v.slice(end + 2);
  } else {
    const colon = v.lastIndexOf(':');
    if (colon >= 0 && v.indexOf(':') !== colon)
      throw new KeeperConfigError(`${variable}: bracket IPv6 hosts`);
    host = colon > 0 ? v.slice(0, colon) : undefined;
    portText = colon >= 0 ? v.slice(colon + 1) : v;
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw new KeeperConfigError(`${variable}: the port must be a number`);
  const port = Number(portText);
  if (port > 65535) throw new KeeperConfigError(`${variable}: the port must be 0..65535`);
  return { host: host === '' ? undefined : host, port };
}

function durationMs(env: Env, variable: string, fallback: string): number {
  const raw = env[variable]?.trim() || fallback;
  let ms: number;
  try {
    ms = parseGoDuration(raw);
  } catch {
    throw new KeeperConfigError(`${variable}: not a valid duration (examples: 10s, 1m30s)`);
  }
  if (ms < 1000 || ms > 600_000) throw new KeeperConfigError(`${variable}: must be between 1s and 10m`);
  return ms;
}

function logLevelFrom(env: Env): LogLevel {
  try {
    return readLogLevel(env.SPIKE_SYSTEM_LOG_LEVEL, 'warn');
  } catch (err) {
    throw new KeeperConfigError(`SPIKE_SYSTEM_LOG_LEVEL: ${(err as Error).message}`);
  }
}

export function loadKeeperConfig(env: Env): KeeperConfig {
  const { host, port } = parseListenAddress(
    env.SPIKE_KEEPER_TLS_PORT?.trim() || `:${DEFAULT_KEEPER_PORT}`,
    'SPIKE_KEEPER_TLS_PORT',
  );
  let trustRoots: TrustRoots;
  try {
    trustRoots = trustRootsFromEnv(env);
  } catch (err) {
    throw new KeeperConfigError((err as Error).message);
  }
  return Object.freeze({
    host,
    port,
    trustRoots,
    logLevel: logLevelFrom(env),
    headersTimeoutMs: durationMs(env, 'SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT', '10s'),
  });
}
