/**
 * Keeper configuration from SPIKE's environment variables (spike-0.8.2 §8.3): the listen address,
 * header timeout, log level and trust roots, read through the settings table of
 * `@spike-ts/settings`. Unlike SPIKE, invalid values are an error naming every invalid variable.
 */
import type { LogLevel } from '@spike-ts/core';
import { readTrustRoots, type TrustRoots } from '@spike-ts/identity';
import {
  checkSettingValue,
  SettingsError,
  SettingsReader,
  SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT,
  SPIKE_KEEPER_TLS_PORT,
  SPIKE_SYSTEM_LOG_LEVEL,
  type Env,
  type ListenAddress,
  type Setting,
} from '@spike-ts/settings';

export type { Env } from '@spike-ts/settings';

export interface KeeperConfig {
  readonly host: string | undefined;
  readonly port: number;
  readonly trustRoots: TrustRoots;
  readonly logLevel: LogLevel;
  readonly headersTimeoutMs: number;
}

/** The settings table's one error type (every invalid variable, each named with its rule). */
export { SettingsError as KeeperConfigError };

/**
 * `:8443`, `8443`, `127.0.0.1:8443`, `[::1]:8443` -> host (undefined = all interfaces) and port,
 * by the rule of the listen address settings; `variable` names the value in the error.
 */
export function parseListenAddress(value: string, variable: string): ListenAddress {
  const setting: Setting<ListenAddress> = { ...SPIKE_KEEPER_TLS_PORT, name: variable, default: undefined };
  const { host, port } = checkSettingValue(setting, value);
  return { host, port };
}

export function loadKeeperConfig(env: Env): KeeperConfig {
  const r = new SettingsReader(env);
  const { host, port } = r.get(SPIKE_KEEPER_TLS_PORT);
  const config: KeeperConfig = {
    host,
    port,
    trustRoots: readTrustRoots(r),
    logLevel: r.get(SPIKE_SYSTEM_LOG_LEVEL),
    headersTimeoutMs: r.get(SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT),
  };
  r.done();
  return Object.freeze(config);
}
