/**
 * The development identity issuer: a local CA plus one SPIFFE Workload API socket per
 * identity (Mode A — whoever can open the socket gets the identity). For development, tests
 * and the demo only; it refuses to start when NODE_ENV=production.
 */
import type * as grpc from '@grpc/grpc-js';
import fs from 'node:fs';
import path from 'node:path';
import { silentIdentityLogger } from '@spike-ts/identity';
import type { IdentityLogger } from '@spike-ts/identity';
import { resolveConfig } from './config.ts';
import type { DevIssuerConfig, DevIssuerSettings } from './config.ts';
import { createJwtAuthority } from './jwt-authority.ts';
import { bindUnixSocket, clearStaleSocket, secureSocket, willChown } from './socket-file.ts';
import {
  BUNDLE_FILE,
  createNewCa,
  ensurePrivateDir,
  loadOrCreateCa,
  loadOrCreateJwtKey,
  writeFileAtomic,
} from './state-store.ts';
import { SvidAuthority } from './svid-authority.ts';
import { createIdentityServer } from './workload-server.ts';
import type { IdentityServer } from './workload-server.ts';

const DAY_MS = 24 * 3_600_000;

export interface DevIssuerOptions extends DevIssuerSettings {
  logger?: IdentityLogger;
  /** Base for relative paths (default `process.cwd()`). */
  cwd?: string;
  /** Environment to check for NODE_ENV (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface DevIssuer {
  readonly trustDomain: string;
  readonly config: DevIssuerConfig;
  /** Identity name → absolute socket path. */
  readonly sockets: ReadonlyMap<string, string>;
  /** `unix://` URL for `SPIFFE_ENDPOINT_SOCKET`. Throws for an unknown name. */
  endpointFor(name: string): string;
  /** The trust bundle (CA roots) as PEM. */
  bundlePem(): string;
  /** Re-issues every X.509-SVID now and pushes it to open streams. */
  rotateNow(): Promise<void>;
  /** Ends streams, stops listening and removes the sockets. Idempotent. */
  close(): Promise<void>;
}

export class DevIssuerRefusedError extends Error {
  constructor() {
    super(
      'the dev identity issuer is DEVELOPMENT-ONLY and refuses to run with NODE_ENV=production. ' +
        'Use SPIRE (set SPIFFE_ENDPOINT_SOCKET to the SPIRE agent socket) in production.',
    );
    this.name = 'DevIssuerRefusedError';
  }
}

/** Lifetime of a newly made dev CA and the minimum validity left for a stored one to be reused. */
export function caLifetimes(svidTtlMs: number): { caTtlMs: number; caMinRemainingMs: number } {
  return {
    caTtlMs: Math.max(7 * DAY_MS, 4 * svidTtlMs),
    caMinRemainingMs: Math.max(3_600_000, 2 * svidTtlMs),
  };
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startDevIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  const env = options.env ?? process.env;
  if (env['NODE_ENV'] === 'production') throw new DevIssuerRefusedError();
  const log = options.logger ?? silentIdentityLogger;
  const config = resolveConfig(options, options.cwd ?? process.cwd());
  const chown = willChown(config.identities);
  if (!chown && config.identities.some((i) => i.uid !== undefined || i.gid !== undefined)) {
    log.warn('not running as root: uid/gid of identities are ignored and sockets stay owned by this user');
  }
  // Other users need search permission on every directory above their socket.
  const dirMode = chown ? 0o711 : 0o700;
  ensurePrivateDir(config.stateDir, isInside(config.socketDir, config.stateDir) ? dirMode : 0o700);
  ensurePrivateDir(config.socketDir, dirMode);
  for (const identity of config.identities) {
    const dir = path.dirname(identity.socketPath);
    if (dir !== config.socketDir && !fs.existsSync(dir))
      fs.mkdirSync(dir, { recursive: true, mode: dirMode });
  }

  const { caTtlMs, caMinRemainingMs } = caLifetimes(config.svidTtlMs);
  const caOpts = {
    stateDir: config.stateDir,
    trustDomain: config.trustDomain,
    caTtlMs,
    minRemainingMs: caMinRemainingMs,
    log,
  };
  const { ca } = await loadOrCreateCa({ ...caOpts, now: new Date() });
  const jwt = await createJwtAuthority(loadOrCreateJwtKey(config.stateDir, log), config.trustDomain);
  const svids = new SvidAuthority({
    ca,
    identities: config.identities,
    svidTtlMs: config.svidTtlMs,
    caMinRemainingMs,
    renewCa: () => createNewCa({ ...caOpts, now: new Date() }),
    log,
  });
  await svids.start();
  const writeBundle = (): void =>
    writeFileAtomic(path.join(config.stateDir, BUNDLE_FILE), svids.bundlePem(), 0o644);
  writeBundle();
  const stopBundleWatch = svids.onBundleChange(() => {
    try {
      writeBundle();
    } catch (err) {
      log.warn('could not write bundle.pem', { err });
    }
  });

  const servers: Array<{ name: string; socketPath: string; handle: IdentityServer }> = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopBundleWatch();
    svids.close();
    for (const s of servers) s.handle.endStreams();
    await Promise.all(servers.map((s) => shutdown(s.handle.server, 2000)));
    for (const s of servers) fs.rmSync(s.socketPath, { force: true });
    log.info('dev identity issuer stopped');
  };

  try {
    for (const identity of config.identities) {
      await clearStaleSocket(identity.socketPath);
      const handle = createIdentityServer({
        identity,
        svids,
        jwt,
        jwtTtlMs: config.jwtTtlMs,
        trustDomain: config.trustDomain,
        log,
      });
      await bindUnixSocket(handle.server, identity.socketPath);
      servers.push({ name: identity.name, socketPath: identity.socketPath, handle });
      secureSocket(identity.socketPath, identity);
      log.info('serving identity', {
        identity: identity.name,
        spiffeId: identity.spiffeId,
        socket: identity.socketPath,
      });
    }
  } catch (err) {
    await close();
    throw err;
  }

  const sockets = new Map(config.identities.map((i) => [i.name, i.socketPath] as const));
  return {
    trustDomain: config.trustDomain,
    config,
    sockets,
    endpointFor(name: string): string {
      const socketPath = sockets.get(name);
      if (socketPath === undefined) throw new Error(`unknown dev identity ${JSON.stringify(name)}`);
      return `unix://${socketPath}`;
    },
    bundlePem: () => svids.bundlePem(),
    rotateNow: () => svids.rotateNow(),
    close,
  };
}
