/**
 * Typed readers over an environment map. Every failure is a `ConfigError` that names the
 * variable and the rule it broke and never repeats the value (it may be a secret or garbage).
 */
import { parseGoDuration } from '@spike-ts/identity';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The environment variable at fault. */
  readonly variable: string;
  constructor(variable: string, rule: string) {
    super(`${variable}: ${rule}`);
    this.variable = variable;
  }
}

/** The trimmed value, or undefined when unset or blank. */
export function readString(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const v = raw.trim();
  return v === '' ? undefined : v;
}

export function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = readString(env, name);
  if (v === undefined) return fallback;
  if (!/^[0-9]{1,15}$/.test(v)) {
    throw new ConfigError(name, `must be a whole number between ${String(min)} and ${String(max)}`);
  }
  const n = Number(v);
  if (n < min || n > max) {
    throw new ConfigError(name, `must be a whole number between ${String(min)} and ${String(max)}`);
  }
  return n;
}

/** A Go duration (`500ms`, `30s`, `5m`, `1h30m`) in whole milliseconds. */
export function readDuration(
  env: Env,
  name: string,
  fallbackMs: number,
  minMs: number,
  maxMs: number,
): number {
  const v = readString(env, name);
  if (v === undefined) return fallbackMs;
  let ms: number;
  try {
    ms = parseGoDuration(v);
  } catch {
    throw new ConfigError(name, 'must be a duration such as 500ms, 30s, 5m or 1h30m');
  }
  ms = Math.round(ms);
  if (ms < minMs || ms > maxMs) {
    throw new ConfigError(name, `must be between ${describeMs(minMs)} and ${describeMs(maxMs)}`);
  }
  return ms;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const v = readString(env, name);
  if (v === undefined) return fallback;
  const lower = v.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ConfigError(name, 'must be true or false');
}

export function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const v = readString(env, name);
  if (v === undefined) return fallback;
  const lower = v.toLowerCase();
  const hit = choices.find((c) => c.toLowerCase() === lower);
  if (hit === undefined) throw new ConfigError(name, `must be one of ${choices.join(', ')}`);
  return hit;
}

function describeMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${String(ms / 3_600_000)}h`;
  if (ms % 60_000 === 0) return `${String(ms / 60_000)}m`;
  if (ms % 1000 === 0) return `${String(ms / 1000)}s`;
  return `${String(ms)}ms`;
}

export interface ListenAddress {
  /** undefined = all interfaces. */
  readonly host: string | undefined;
  readonly port: number;
}

/** `:8553`, `8553`, `127.0.0.1:8553`, `[::1]:8553`, `localhost:8553`. Port 0 = any free port. */
export function parseListenAddress(name: string, value: string): ListenAddress {
  const rule = 'must be :port, host:port or [ipv6]:port with a port from 0 to 65535';
  let host: string | undefined;
  let portText: string;
  if (/^[0-9]+$/.test(value)) {
    portText = value;
  } else {
    const bracket = /^\[([0-9a-fA-F:.]+)\]:([0-9]+)$/.exec(value);
    if (bracket !== null) {
      host = bracket[1];
      portText = bracket[2] ?? '';
    } else {
      const plain = /^([a-zA-Z0-9.-]*):([0-9]+)$/.exec(value);
      if (plain === null) throw new ConfigError(name, rule);
      host = plain[1] === '' ? undefined : plain[1];
      portText = plain[2] ?? '';
    }
  }
  if (portText.length > 5) throw new ConfigError(name, rule);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(name, rule);
  return { host, port };
}
