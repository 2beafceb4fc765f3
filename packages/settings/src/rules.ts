/**
 * The rules a `SPIKE_*` value can follow. A rule has a one-line text (shown in the docs and in
 * every error, phrased "must ...") and a parser from the trimmed, non-blank value to a typed
 * value. A parser that refuses a value throws `RuleBroken` with the reason; no reason ever
 * repeats the value (it may be a secret or garbage).
 */
import { parseGoDuration } from './go-duration.ts';

export class RuleBroken extends Error {
  override readonly name = 'RuleBroken';
}

export interface Rule<T> {
  /** What the value must be, for docs and errors: "must be a whole number from 1 to 16". */
  readonly text: string;
  /** Parses a trimmed, non-blank value; throws `RuleBroken`. */
  parse(value: string): T;
}

export function intRule(min: number, max: number): Rule<number> {
  const text = `must be a whole number from ${String(min)} to ${String(max)}`;
  return {
    text,
    parse(value) {
      if (!/^[0-9]{1,15}$/.test(value)) throw new RuleBroken(text);
      const n = Number(value);
      if (n < min || n > max) throw new RuleBroken(text);
      return n;
    },
  };
}

/** `auto` (any case), or a whole number from `min` to `max`. */
export function autoOrIntRule(min: number, max: number): Rule<number | 'auto'> {
  const ints = intRule(min, max);
  const text = `must be auto or a whole number from ${String(min)} to ${String(max)}`;
  return {
    text,
    parse(value) {
      if (value.toLowerCase() === 'auto') return 'auto';
      try {
        return ints.parse(value);
      } catch {
        throw new RuleBroken(text);
      }
    },
  };
}

/** Milliseconds as the docs write them: `0`, `500ms`, `30s`, `10m`, `24h`. */
export function describeMs(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${String(ms / 3_600_000)}h`;
  if (ms % 60_000 === 0) return `${String(ms / 60_000)}m`;
  if (ms % 1000 === 0) return `${String(ms / 1000)}s`;
  return `${String(ms)}ms`;
}

/** A Go duration (`500ms`, `30s`, `5m`, `1h30m`) from `minMs` to `maxMs`, in whole milliseconds. */
export function durationRule(minMs: number, maxMs: number): Rule<number> {
  const range =
    minMs === 1
      ? `a positive duration up to ${describeMs(maxMs)}`
      : minMs === 0
        ? `a duration from 0 to ${describeMs(maxMs)}`
        : `a duration from ${describeMs(minMs)} to ${describeMs(maxMs)}`;
  const text = `must be ${range}`;
  return {
    text,
    parse(value) {
      let ms: number;
      try {
        ms = parseGoDuration(value);
      } catch {
        throw new RuleBroken(`invalid duration: ${text}, in Go syntax such as 500ms, 30s, 5m or 1h30m`);
      }
      ms = Math.round(ms);
      if (!(ms >= minMs && ms <= maxMs)) throw new RuleBroken(text);
      return ms;
    },
  };
}

export const boolRule: Rule<boolean> = {
  text: 'must be true or false',
  parse(value) {
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw new RuleBroken(this.text);
  },
};

/**
 * SPIKE's switch for dangerous actions: exactly `true` turns it on, anything else leaves it off
 * (so a typo never forces anything).
 */
export const exactTrueRule: Rule<boolean> = {
  text: 'exactly true turns it on; any other value leaves it off',
  parse: (value) => value === 'true',
};

/** One of `choices`, case-insensitive; the value comes back spelled as in `choices`. */
export function choiceRule<T extends string>(choices: readonly T[], shown?: readonly string[]): Rule<T> {
  const text = `must be one of ${(shown ?? choices).join(', ')}`;
  return {
    text,
    parse(value) {
      const lower = value.toLowerCase();
      const hit = choices.find((c) => c.toLowerCase() === lower);
      if (hit === undefined) throw new RuleBroken(text);
      return hit;
    },
  };
}

export interface ListenAddress {
  /** undefined = all interfaces. */
  readonly host: string | undefined;
  readonly port: number;
}

const LISTEN_TEXT = 'must be :port, port, host:port or [ipv6]:port with a port from 0 to 65535';

function parseListen(value: string): ListenAddress {
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
      if (plain === null) throw new RuleBroken(LISTEN_TEXT);
      host = plain[1] === '' ? undefined : plain[1];
      portText = plain[2] ?? '';
    }
  }
  if (portText.length > 5) throw new RuleBroken(LISTEN_TEXT);
  const port = Number(portText);
  if (!Number.isInteger(port) || port > 65535) throw new RuleBroken(LISTEN_TEXT);
  return Object.freeze({ host, port });
}

/** `:8553`, `8553`, `127.0.0.1:8553`, `[::1]:8553`, `localhost:8553`; port 0 = any free port. */
export const listenRule: Rule<ListenAddress> = { text: LISTEN_TEXT, parse: parseListen };

/** A listen address, or `off` (null). */
export const listenOrOffRule: Rule<ListenAddress | null> = {
  text: `must be off or a listen address (:port, host:port or [ipv6]:port)`,
  parse(value) {
    if (value.toLowerCase() === 'off') return null;
    try {
      return parseListen(value);
    } catch {
      throw new RuleBroken(this.text);
    }
  },
};

/** Any non-blank text (checked where it is used, e.g. the Workload API address). */
export const textRule: Rule<string> = { text: 'any value', parse: (value) => value };

function parseHttpsUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RuleBroken(`${what} must be an https:// URL with a host`);
  }
  if (url.protocol !== 'https:' || url.hostname === '') {
    throw new RuleBroken(`${what} must be an https:// URL with a host`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new RuleBroken(`${what} must be an https:// URL with a host and no credentials`);
  }
  return url;
}

/** An `https://` URL with a host and no credentials, query or fragment. */
export const httpsUrlRule: Rule<string> = {
  text: 'must be an https:// URL with a host and no credentials, query or fragment',
  parse(value) {
    const url = parseHttpsUrl(value, 'the value');
    if (url.search !== '' || url.hash !== '') throw new RuleBroken(this.text);
    return value;
  },
};

/**
 * Comma-separated `https://` URLs with a host and no credentials; no empty entries and no
 * duplicates (trailing slashes ignored). The order is kept: it means something (keeper i).
 */
export const httpsUrlListRule: Rule<readonly string[]> = {
  text: 'must be comma-separated https:// URLs with a host and no credentials, without empty entries or duplicates',
  parse(value) {
    const entries = value.split(',').map((p) => p.trim());
    const seen = new Set<string>();
    for (const [i, entry] of entries.entries()) {
      const what = `entry ${String(i + 1)}`;
      if (entry === '') throw new RuleBroken(`${what} is empty`);
      const url = parseHttpsUrl(entry, what);
      const key = url.origin + url.pathname.replace(/\/+$/, '');
      if (seen.has(key)) throw new RuleBroken(`${what} is a duplicate`);
      seen.add(key);
    }
    return Object.freeze(entries);
  },
};

/**
 * Comma-separated Nexus base URLs: each one as `httpsUrlRule` (https, a host, no credentials,
 * query or fragment); no empty entries and no duplicates (trailing slashes ignored). One URL is a
 * list of one. The order is kept: clients try the first URL first (ADR 0033).
 */
export const nexusUrlListRule: Rule<readonly string[]> = {
  text: 'must be one https:// URL, or several separated by commas, each with a host and no credentials, query or fragment, without empty entries or duplicates',
  parse(value) {
    const entries = value.split(',').map((p) => p.trim());
    const seen = new Map<string, number>();
    for (const [i, entry] of entries.entries()) {
      const what = entries.length === 1 ? 'the value' : `entry ${String(i + 1)}`;
      if (entry === '') throw new RuleBroken(`${what} is empty (write the URLs separated by single commas)`);
      const url = parseHttpsUrl(entry, what);
      if (url.search !== '' || url.hash !== '') {
        throw new RuleBroken(`${what} must be an https:// URL without a query or fragment`);
      }
      const key = url.origin + url.pathname.replace(/\/+$/, '');
      const first = seen.get(key);
      if (first !== undefined) {
        throw new RuleBroken(`${what} is a duplicate of entry ${String(first + 1)} (list each Nexus once)`);
      }
      seen.set(key, i);
    }
    return Object.freeze(entries);
  },
};

const MAX_TRUST_DOMAIN_BYTES = 255;
const SPIFFE_PREFIX = 'spiffe://';

function isTrustDomainChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2e || // .
    c === 0x2d || // -
    c === 0x5f // _
  );
}

/** Why `item` is not a trust domain name (or `spiffe://<name>`), or undefined when it is one. */
function trustDomainProblem(item: string): string | undefined {
  let name = item;
  if (item.includes(':/')) {
    if (!item.startsWith(SPIFFE_PREFIX)) return 'scheme is missing or invalid';
    name = item.slice(SPIFFE_PREFIX.length);
    if (name.includes('/')) return 'a trust domain ID must not have a path';
  }
  if (name === '') return 'trust domain is missing';
  for (let i = 0; i < name.length; i++) {
    if (!isTrustDomainChar(name.charCodeAt(i))) {
      return 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores';
    }
  }
  if (name.length > MAX_TRUST_DOMAIN_BYTES) {
    return `trust domain is too long (at most ${String(MAX_TRUST_DOMAIN_BYTES)} bytes)`;
  }
  return undefined;
}

/** Comma-separated trust domain names (`spiffe://<name>` accepted); duplicates dropped. */
export const trustDomainListRule: Rule<readonly string[]> = {
  text: 'must be comma-separated trust domain names (lowercase letters, digits, dots, dashes, underscores) without empty items',
  parse(value) {
    const roots: string[] = [];
    for (const [i, raw] of value.split(',').entries()) {
      const item = raw.trim();
      if (item === '') throw new RuleBroken('empty item in comma-separated trust root list');
      const problem = trustDomainProblem(item);
      if (problem !== undefined) {
        throw new RuleBroken(`invalid trust domain in item ${String(i + 1)}: ${problem}`);
      }
      const name = item.startsWith(SPIFFE_PREFIX) ? item.slice(SPIFFE_PREFIX.length) : item;
      if (!roots.includes(name)) roots.push(name);
    }
    return Object.freeze(roots);
  },
};

/** `stderr`, `stdout`, `off`, or an absolute file path. */
export type AuditSink =
  { readonly kind: 'stderr' | 'stdout' | 'off' } | { readonly kind: 'file'; readonly path: string };

export const auditSinkRule: Rule<AuditSink> = {
  text: 'must be stderr, stdout, off or an absolute file path',
  parse(value) {
    const lower = value.toLowerCase();
    if (lower === 'stderr' || lower === 'stdout' || lower === 'off') return Object.freeze({ kind: lower });
    if (!value.startsWith('/')) throw new RuleBroken(this.text);
    return Object.freeze({ kind: 'file', path: value });
  },
};

/** Where audit records are shipped over syslog: `tcp://` or `tls://` host and port. */
export interface SyslogTarget {
  readonly tls: boolean;
  /** A DNS name or an IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
}

const SYSLOG_TEXT =
  'must be off, tcp://host:port or tls://host:port (IPv6 in brackets), with a port from 1 to 65535';

/** `off` (null), `tcp://host:port` or `tls://host:port`. */
export const syslogTargetRule: Rule<SyslogTarget | null> = {
  text: SYSLOG_TEXT,
  parse(value) {
    if (value.toLowerCase() === 'off') return null;
    const m = /^(tcp|tls):\/\/(?:\[([0-9a-fA-F:.]{2,45})\]|([a-zA-Z0-9.-]{1,253})):([0-9]{1,5})$/.exec(value);
    if (m === null) throw new RuleBroken(SYSLOG_TEXT);
    const port = Number(m[4]);
    if (port < 1 || port > 65535) throw new RuleBroken(SYSLOG_TEXT);
    return Object.freeze({ tls: m[1] === 'tls', host: m[2] ?? m[3] ?? '', port });
  },
};

/** A file path (the reader checks that it can be read). */
export const filePathRule: Rule<string> = {
  text: 'must be the path of a readable file',
  parse: (value) => value,
};

/** A directory path; relative paths are resolved by the reader against its working directory. */
export const pathRule: Rule<string> = {
  text: 'must be a directory path',
  parse: (value) => value,
};

/** Where a PostgreSQL database is and who connects (no credentials: the password is in a file). */
export interface PostgresUrl {
  /** Host name, IP address, or the absolute directory of a unix socket. */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

const POSTGRES_URL_TEXT =
  'must be postgresql://USER@HOST[:PORT]/DATABASE (or postgresql://USER@/DATABASE?host=/socket/dir), ' +
  'with no password and no other query parameters';

/**
 * A `postgresql://` (or `postgres://`) URL naming user, host, port (default 5432) and database.
 * A password in the URL is refused (it would end up in process listings and logs); so are
 * query parameters other than `host` (a unix-socket directory), since TLS has its own settings.
 */
export const postgresUrlRule: Rule<PostgresUrl> = {
  text: POSTGRES_URL_TEXT,
  parse(value) {
    // `USER@/DATABASE` (no host: a unix socket) is not a WHATWG URL; parse it with a stand-in host.
    const socketForm = /^(postgres(?:ql)?:\/\/[^@/?#]+@)\//.exec(value);
    let url: URL;
    try {
      url = new URL(
        socketForm === null
          ? value
          : `${socketForm[1] ?? ''}socket.invalid/${value.slice(socketForm[0].length)}`,
      );
    } catch {
      throw new RuleBroken(POSTGRES_URL_TEXT);
    }
    if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:')
      throw new RuleBroken(POSTGRES_URL_TEXT);
    const hostname = socketForm === null ? url.hostname : '';
    if (url.password !== '') {
      throw new RuleBroken(
        'must not hold a password: put it in the file SPIKE_NEXUS_POSTGRES_PASSWORD_FILE names',
      );
    }
    const params = [...url.searchParams.keys()];
    if (params.some((k) => k !== 'host') || url.hash !== '') {
      throw new RuleBroken(
        `${POSTGRES_URL_TEXT}; TLS is set by SPIKE_NEXUS_POSTGRES_SSLMODE and SPIKE_NEXUS_POSTGRES_SSLROOTCERT`,
      );
    }
    const decode = (s: string): string => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new RuleBroken(POSTGRES_URL_TEXT);
      }
    };
    const socketDir = url.searchParams.get('host');
    const host = socketDir ?? decode(hostname.replace(/^\[|\]$/g, ''));
    const user = decode(url.username);
    const database = decode(url.pathname.replace(/^\//, ''));
    if (host === '' || user === '' || database === '' || database.includes('/')) {
      throw new RuleBroken(POSTGRES_URL_TEXT);
    }
    if (socketDir !== null && (!socketDir.startsWith('/') || hostname !== '')) {
      throw new RuleBroken(
        `${POSTGRES_URL_TEXT}; host= must be an absolute directory and the URL's host empty`,
      );
    }
    const port = url.port === '' ? 5432 : Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RuleBroken(POSTGRES_URL_TEXT);
    return { host, port, database, user };
  },
};
