/**
 * Workload API endpoint addresses (SPIFFE Workload Endpoint spec, `SPIFFE_ENDPOINT_SOCKET`):
 * `unix:///absolute/path` (also `unix:/absolute/path`) or `tcp://<IP>:<port>`.
 */
import { isIP } from 'node:net';

export const SPIFFE_ENDPOINT_SOCKET_ENV = 'SPIFFE_ENDPOINT_SOCKET';
export const DEFAULT_WORKLOAD_ENDPOINT = 'unix:///tmp/spire-agent/public/api.sock';

/** Linux `sun_path` holds 108 bytes including the terminating NUL. */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107;

export type WorkloadEndpoint =
  | { readonly kind: 'unix'; readonly path: string; readonly url: string; readonly grpcTarget: string }
  | {
      readonly kind: 'tcp';
      readonly host: string;
      readonly port: number;
      readonly url: string;
      readonly grpcTarget: string;
    };

export class WorkloadEndpointError extends Error {
  constructor(value: string, reason: string) {
    super(
      `invalid Workload API endpoint ${JSON.stringify(value)}: ${reason}; ` +
        'expected unix:///absolute/path/to/socket or tcp://<IP>:<port>',
    );
    this.name = 'WorkloadEndpointError';
  }
}

const MAX_ENDPOINT_LENGTH = 4096;

/** Parses and validates a Workload API address. Throws `WorkloadEndpointError`. */
export function parseWorkloadEndpoint(value: string): WorkloadEndpoint {
  if (value.length > MAX_ENDPOINT_LENGTH)
    throw new WorkloadEndpointError(value.slice(0, 32) + '…', 'too long');
  if (value.trim() !== value || value === '')
    throw new WorkloadEndpointError(value, 'empty or surrounded by spaces');
  if (value.startsWith('unix:')) return parseUnix(value);
  if (value.startsWith('tcp:')) return parseTcp(value);
  throw new WorkloadEndpointError(value, 'scheme must be "unix" or "tcp"');
}

function parseUnix(value: string): WorkloadEndpoint {
  let rest = value.slice('unix:'.length);
  if (rest.startsWith('//')) {
    rest = rest.slice(2);
    if (!rest.startsWith('/'))
      throw new WorkloadEndpointError(value, 'unix address must not have an authority part');
  }
  if (!rest.startsWith('/') || rest.length < 2)
    throw new WorkloadEndpointError(value, 'unix socket path must be absolute');
  if (/[?#]/.test(rest))
    throw new WorkloadEndpointError(value, 'unix address must not have a query or fragment');
  if (rest.includes('\0')) throw new WorkloadEndpointError(value, 'unix socket path must not contain NUL');
  if (Buffer.byteLength(rest) > MAX_UNIX_SOCKET_PATH_BYTES) {
    throw new WorkloadEndpointError(
      value,
      `unix socket path is longer than ${MAX_UNIX_SOCKET_PATH_BYTES} bytes`,
    );
  }
  return { kind: 'unix', path: rest, url: `unix://${rest}`, grpcTarget: `unix://${rest}` };
}

function parseTcp(value: string): WorkloadEndpoint {
  if (!value.startsWith('tcp://'))
    throw new WorkloadEndpointError(value, 'tcp address must start with tcp://');
  const rest = value.slice('tcp://'.length);
  if (/[/?#@]/.test(rest)) {
    throw new WorkloadEndpointError(value, 'tcp address must not have a path, query, fragment or user info');
  }
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':')
      throw new WorkloadEndpointError(value, 'tcp address must include a port');
    host = rest.slice(1, close);
    portText = rest.slice(close + 2);
    if (isIP(host) !== 6) throw new WorkloadEndpointError(value, 'host must be an IP address');
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw new WorkloadEndpointError(value, 'tcp address must include a port');
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (isIP(host) !== 4) throw new WorkloadEndpointError(value, 'host must be an IP address, not a name');
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw new WorkloadEndpointError(value, 'port must be a number');
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new WorkloadEndpointError(value, 'port must be between 1 and 65535');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const grpcTarget = host.includes(':') ? `ipv6:${hostPart}:${port}` : `ipv4:${host}:${port}`;
  return { kind: 'tcp', host, port, url: `tcp://${hostPart}:${port}`, grpcTarget };
}

/**
 * The endpoint to use: the explicit value if given, else `SPIFFE_ENDPOINT_SOCKET` from `env`,
 * else SPIRE's default agent socket.
 */
export function resolveWorkloadEndpoint(
  explicit?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): WorkloadEndpoint {
  const fromEnv = env[SPIFFE_ENDPOINT_SOCKET_ENV];
  const chosen = explicit ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_WORKLOAD_ENDPOINT);
  return parseWorkloadEndpoint(chosen);
}
