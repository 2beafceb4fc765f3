/**
 * Dev identity issuer configuration: defaults, the JSON config file, and resolution into
 * absolute socket paths. Precedence: built-in defaults < config file < command-line flags.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseSpiffeId, parseTrustDomain } from '@spike-ts/identity';
import { parseGoDuration } from '@spike-ts/identity';
import { MAX_UNIX_SOCKET_PATH_BYTES } from '@spike-ts/identity';

export const DEFAULT_TRUST_DOMAIN = 'spike.ist';
export const DEFAULT_STATE_DIR = '.dev-identity';
export const DEFAULT_SVID_TTL_MS = 3_600_000;
export const DEFAULT_JWT_TTL_MS = 300_000;
export const MIN_TTL_MS = 1000;
export const MAX_SVID_TTL_MS = 7 * 24 * 3_600_000;
const MAX_CONFIG_BYTES = 256 * 1024;
const MAX_IDENTITIES = 256;

/** One identity as configured (config file, flag or programmatic option). */
export interface DevIdentitySpec {
  /** Short name; also the default socket file name (`<name>.sock`). */
  name: string;
  spiffeId: string;
  /** Socket path; relative paths are resolved against the socket dir. */
  socket?: string;
  /** Owner to give the socket when the issuer runs as root. */
  uid?: number;
  gid?: number;
}

/** Everything optional; what `startDevIssuer` and the config file accept. */
export interface DevIssuerSettings {
  trustDomain?: string;
  stateDir?: string;
  socketDir?: string;
  svidTtlMs?: number;
  jwtTtlMs?: number;
  identities?: readonly DevIdentitySpec[];
}

export interface ResolvedIdentity {
  readonly name: string;
  readonly spiffeId: string;
  readonly socketPath: string;
  readonly uid?: number;
  readonly gid?: number;
}

export interface DevIssuerConfig {
  readonly trustDomain: string;
  readonly stateDir: string;
  readonly socketDir: string;
  readonly svidTtlMs: number;
  readonly jwtTtlMs: number;
  readonly identities: readonly ResolvedIdentity[];
}

export class DevIssuerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevIssuerConfigError';
  }
}

/** SPIKE's roles plus the demo workload: name → path under the trust domain. */
export const DEFAULT_IDENTITY_PATHS: ReadonlyArray<readonly [name: string, path: string]> = [
  ['nexus', '/spike/nexus'],
  ['keeper', '/spike/keeper'],
  ['bootstrap', '/spike/bootstrap'],
  ['pilot', '/spike/pilot/role/superuser'],
  ['pilot-recover', '/spike/pilot/role/recover'],
  ['pilot-restore', '/spike/pilot/role/restore'],
  ['lite', '/spike/workload/role/lite'],
  ['demo', '/workload/demo'],
];

export function defaultIdentities(trustDomain: string): DevIdentitySpec[] {
  return DEFAULT_IDENTITY_PATHS.map(([name, p]) => ({ name, spiffeId: `spiffe://${trustDomain}${p}` }));
}

function validateName(name: string): void {
  const ok =
    name.length > 0 &&
    name.length <= 64 &&
    [...name].every((c) => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c === '-' || c === '_') &&
    name[0] !== '-';
  if (!ok) {
    throw new DevIssuerConfigError(
      `invalid identity name ${JSON.stringify(name.slice(0, 70))}: use 1-64 of a-z, 0-9, "-" and "_", not starting with "-"`,
    );
  }
}

function validateId(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xfffffffe) {
    throw new DevIssuerConfigError(`${what} must be a non-negative integer`);
  }
  return value;
}

/** Parses a TTL given as Go duration text; enforces sane bounds. */
export function parseTtl(value: string, what: string, maxMs = MAX_SVID_TTL_MS): number {
  let ms: number;
  try {
    ms = parseGoDuration(value);
  } catch (err) {
    throw new DevIssuerConfigError(`${what}: ${(err as Error).message}`);
  }
  if (ms < MIN_TTL_MS || ms > maxMs) {
    throw new DevIssuerConfigError(`${what} must be between 1s and ${Math.round(maxMs / 3_600_000)}h`);
  }
  return ms;
}

/** Parses `--identity name=spiffe://td/path`. */
export function parseIdentityFlag(value: string): DevIdentitySpec {
  const eq = value.indexOf('=');
  if (eq <= 0)
    throw new DevIssuerConfigError(
      `--identity expects <name>=<spiffe-id>, got ${JSON.stringify(value.slice(0, 100))}`,
    );
  return { name: value.slice(0, eq), spiffeId: value.slice(eq + 1) };
}

const CONFIG_KEYS = new Set(['trustDomain', 'stateDir', 'socketDir', 'svidTtl', 'jwtTtl', 'identities']);
const IDENTITY_KEYS = new Set(['name', 'spiffeId', 'socket', 'uid', 'gid']);

function rejectUnknownKeys(obj: object, allowed: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) {
      throw new DevIssuerConfigError(
        `${where}: unknown key ${JSON.stringify(key)} (allowed: ${[...allowed].join(', ')})`,
      );
    }
  }
}

function optionalString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '')
    throw new DevIssuerConfigError(`${where}: ${key} must be a non-empty string`);
  return v;
}

/**
 * Reads and validates a JSON config file. Relative `stateDir`, `socketDir` and socket paths
 * are resolved against the directory holding the file.
 */
export function loadConfigFile(file: string): DevIssuerSettings {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (stat.size > MAX_CONFIG_BYTES)
      throw new DevIssuerConfigError(`${file}: config file is larger than 256 KiB`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof DevIssuerConfigError) throw err;
    throw new DevIssuerConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DevIssuerConfigError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseConfigObject(parsed, file, path.dirname(path.resolve(file)));
}

/** Validates a parsed config document (exported for tests). */
export function parseConfigObject(parsed: unknown, where: string, baseDir: string): DevIssuerSettings {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DevIssuerConfigError(`${where}: the config must be a JSON object`);
  }
  const obj = parsed as Record<string, unknown>;
  rejectUnknownKeys(obj, CONFIG_KEYS, where);
  const out: DevIssuerSettings = {};
  const td = optionalString(obj, 'trustDomain', where);
  if (td !== undefined) out.trustDomain = td;
  const stateDir = optionalString(obj, 'stateDir', where);
  if (stateDir !== undefined) out.stateDir = path.resolve(baseDir, stateDir);
  const socketDir = optionalString(obj, 'socketDir', where);
  if (socketDir !== undefined) out.socketDir = path.resolve(baseDir, socketDir);
  const svidTtl = optionalString(obj, 'svidTtl', where);
  if (svidTtl !== undefined) out.svidTtlMs = parseTtl(svidTtl, `${where}: svidTtl`);
  const jwtTtl = optionalString(obj, 'jwtTtl', where);
  if (jwtTtl !== undefined) out.jwtTtlMs = parseTtl(jwtTtl, `${where}: jwtTtl`);
  if (obj['identities'] !== undefined) {
    const list = obj['identities'];
    if (!Array.isArray(list)) throw new DevIssuerConfigError(`${where}: identities must be an array`);
    out.identities = list.map((item: unknown, i) => {
      const at = `${where}: identities[${i}]`;
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        throw new DevIssuerConfigError(`${at} must be an object`);
      const entry = item as Record<string, unknown>;
      rejectUnknownKeys(entry, IDENTITY_KEYS, at);
      const name = optionalString(entry, 'name', at);
      const spiffeId = optionalString(entry, 'spiffeId', at);
      if (name === undefined || spiffeId === undefined)
        throw new DevIssuerConfigError(`${at} needs name and spiffeId`);
      const socket = optionalString(entry, 'socket', at);
      const spec: DevIdentitySpec = { name, spiffeId };
      if (socket !== undefined) spec.socket = socket;
      const uid = validateId(entry['uid'], `${at}.uid`);
      const gid = validateId(entry['gid'], `${at}.gid`);
      if (uid !== undefined) spec.uid = uid;
      if (gid !== undefined) spec.gid = gid;
      return spec;
    });
  }
  return out;
}

/** Merges settings layers (later wins; identities from later layers override by name). */
export function mergeSettings(...layers: DevIssuerSettings[]): DevIssuerSettings {
  const out: DevIssuerSettings = {};
  let identities: Map<string, DevIdentitySpec> | undefined;
  for (const layer of layers) {
    if (layer.trustDomain !== undefined) out.trustDomain = layer.trustDomain;
    if (layer.stateDir !== undefined) out.stateDir = layer.stateDir;
    if (layer.socketDir !== undefined) out.socketDir = layer.socketDir;
    if (layer.svidTtlMs !== undefined) out.svidTtlMs = layer.svidTtlMs;
    if (layer.jwtTtlMs !== undefined) out.jwtTtlMs = layer.jwtTtlMs;
    if (layer.identities !== undefined) {
      identities ??= new Map();
      for (const spec of layer.identities) identities.set(spec.name, spec);
    }
  }
  if (identities !== undefined) out.identities = [...identities.values()];
  return out;
}

/** Applies defaults, validates everything and computes absolute socket paths. */
export function resolveConfig(settings: DevIssuerSettings, cwd: string = process.cwd()): DevIssuerConfig {
  let trustDomain: string;
  try {
    trustDomain = parseTrustDomain(settings.trustDomain ?? DEFAULT_TRUST_DOMAIN);
  } catch (err) {
    throw new DevIssuerConfigError(`invalid trust domain: ${(err as Error).message}`);
  }
  const stateDir = path.resolve(cwd, settings.stateDir ?? DEFAULT_STATE_DIR);
  const socketDir = path.resolve(cwd, settings.socketDir ?? path.join(stateDir, 'sockets'));
  const svidTtlMs = settings.svidTtlMs ?? DEFAULT_SVID_TTL_MS;
  const jwtTtlMs = settings.jwtTtlMs ?? DEFAULT_JWT_TTL_MS;
  for (const [what, v] of [
    ['svid TTL', svidTtlMs],
    ['JWT TTL', jwtTtlMs],
  ] as const) {
    if (!Number.isFinite(v) || v < MIN_TTL_MS || v > MAX_SVID_TTL_MS)
      throw new DevIssuerConfigError(`${what} must be between 1s and 168h`);
  }
  const specs = settings.identities ?? defaultIdentities(trustDomain);
  if (specs.length === 0) throw new DevIssuerConfigError('at least one identity is required');
  if (specs.length > MAX_IDENTITIES)
    throw new DevIssuerConfigError(`at most ${MAX_IDENTITIES} identities are supported`);
  const names = new Set<string>();
  const sockets = new Set<string>();
  const identities = specs.map((spec): ResolvedIdentity => {
    validateName(spec.name);
    if (names.has(spec.name)) throw new DevIssuerConfigError(`identity name ${spec.name} is used twice`);
    names.add(spec.name);
    let id;
    try {
      id = parseSpiffeId(spec.spiffeId);
    } catch (err) {
      throw new DevIssuerConfigError(`identity ${spec.name}: invalid SPIFFE ID: ${(err as Error).message}`);
    }
    if (id.path === '')
      throw new DevIssuerConfigError(`identity ${spec.name}: a workload SPIFFE ID needs a path`);
    if (id.trustDomain !== trustDomain) {
      throw new DevIssuerConfigError(
        `identity ${spec.name}: ${id.toString()} is not in the issuer's trust domain ${trustDomain}`,
      );
    }
    const socketPath = path.resolve(socketDir, spec.socket ?? `${spec.name}.sock`);
    if (sockets.has(socketPath))
      throw new DevIssuerConfigError(`socket ${socketPath} is used by two identities`);
    sockets.add(socketPath);
    const bytes = Buffer.byteLength(socketPath);
    if (bytes > MAX_UNIX_SOCKET_PATH_BYTES) {
      throw new DevIssuerConfigError(
        `socket path for ${spec.name} is ${bytes} bytes (${socketPath}); unix socket paths are limited to ` +
          `${MAX_UNIX_SOCKET_PATH_BYTES} bytes. Choose a shorter --socket-dir (for example /tmp/spike-dev).`,
      );
    }
    const resolved: { -readonly [K in keyof ResolvedIdentity]: ResolvedIdentity[K] } = {
      name: spec.name,
      spiffeId: id.toString(),
      socketPath,
    };
    const uid = validateId(spec.uid, `identity ${spec.name} uid`);
    const gid = validateId(spec.gid, `identity ${spec.name} gid`);
    if (uid !== undefined) resolved.uid = uid;
    if (gid !== undefined) resolved.gid = gid;
    return resolved;
  });
  return { trustDomain, stateDir, socketDir, svidTtlMs, jwtTtlMs, identities };
}
