/**
 * The dev-mode stack: the dev identity issuer and Nexus in this one process, each started through
 * its package's own exported start function and configured by its own configuration loader from
 * an environment composed here, so dev mode runs the same code as `spike-dev-identity` and
 * `spike-nexus` and has no configuration rules of its own.
 */
import { homedir, userInfo } from 'node:os';
import type { Logger } from '@spike-ts/core';
import {
  defaultIdentities,
  startDevIssuer,
  DEFAULT_TRUST_DOMAIN,
  type DevIdentitySpec,
  type DevIssuer,
} from '@spike-ts/dev-identity';
import { createX509Source, type X509Source } from '@spike-ts/identity';
import { createCustody, createNexus, loadConfig, type Nexus, type NexusConfig } from '@spike-ts/nexus';
import type { Env } from '@spike-ts/settings';

export interface DevStackOptions {
  /** Nexus's API port on 127.0.0.1 (0: any free port). */
  readonly port: number;
  /** Directory of the Workload API sockets. */
  readonly socketDir: string;
  /** Where the dev CA lives. */
  readonly identityStateDir: string;
  /** Identities served besides SPIKE's roles and the demo workload. */
  readonly extraIdentities: readonly DevIdentitySpec[];
  /** The environment the components' configuration loaders read (besides what is set here). */
  readonly env: Env;
  readonly logger: Logger;
}

export interface DevStack {
  readonly issuer: DevIssuer;
  readonly nexus: Nexus;
  readonly nexusConfig: NexusConfig;
  /** `https://127.0.0.1:<port>`: what `SPIKE_NEXUS_API_URL` must say. */
  readonly nexusUrl: string;
  /** Stops Nexus, then the issuer (which removes its sockets). Idempotent. */
  close(): Promise<void>;
}

/**
 * Variables dev mode decides for every component; the developer's own values of these (a
 * `SPIFFE_ENDPOINT_SOCKET` exported for the CLI, say) must not leak into the components.
 */
const OWNED = new Set([
  'SPIFFE_ENDPOINT_SOCKET',
  'SPIKE_NEXUS_BACKEND_STORE',
  'SPIKE_NEXUS_TLS_PORT',
  'SPIKE_NEXUS_KEEPER_PEERS',
  'SPIKE_NEXUS_API_URL',
  'SPIKE_NEXUS_API_THREADS',
  'SPIKE_KEEPER_TLS_PORT',
  'SPIKE_TRUST_ROOT_NEXUS',
  'SPIKE_TRUST_ROOT_KEEPER',
  'SPIKE_TRUST_ROOT_BOOTSTRAP',
  'SPIKE_TRUST_ROOT_PILOT',
  'SPIKE_TRUST_ROOT_LITE_WORKLOAD',
]);

/**
 * The environment one component reads: the developer's, minus the variables dev mode owns, with
 * dev mode's `defaults` under it and its `fixed` values over it.
 */
export function componentEnv(
  env: Env,
  endpoint: string,
  fixed: Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const out: Record<string, string> = { ...defaults };
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !OWNED.has(key)) out[key] = value;
  }
  return { ...out, ...fixed, SPIFFE_ENDPOINT_SOCKET: endpoint };
}

/** Starts the issuer, then Nexus on the in-memory store; undoes what started when a step fails. */
export async function startDevStack(opts: DevStackOptions): Promise<DevStack> {
  const { logger } = opts;
  const issuer = await startDevIssuer({
    trustDomain: DEFAULT_TRUST_DOMAIN,
    stateDir: opts.identityStateDir,
    socketDir: opts.socketDir,
    identities: [...defaultIdentities(DEFAULT_TRUST_DOMAIN), ...opts.extraIdentities],
    logger: logger.child({ component: 'dev-identity' }),
    env: opts.env,
  });
  const started: Array<() => Promise<void>> = [() => issuer.close()];
  const undo = async (): Promise<void> => {
    for (const stop of started.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        logger.warn('a component did not stop cleanly', { err });
      }
    }
  };
  try {
    const nexusEnv = componentEnv(
      opts.env,
      issuer.endpointFor('nexus'),
      { SPIKE_NEXUS_BACKEND_STORE: 'memory', SPIKE_NEXUS_TLS_PORT: `127.0.0.1:${String(opts.port)}` },
      // No plain-HTTP health listener unless asked for: it would take SPIKE's :8554 on every interface.
      { SPIKE_NEXUS_HEALTH_ADDR: 'off' },
    );
    const nexusConfig = loadConfig(nexusEnv, {
      homeDir: homedir(),
      userName: userName(),
      cwd: process.cwd(),
    });
    const nexusLogger = logger.child({ component: 'nexus' });
    const source: X509Source = await createX509Source({
      endpoint: nexusConfig.spiffeEndpointSocket,
      timeoutMs: nexusConfig.spiffeSourceTimeoutMs,
      env: nexusEnv,
      logger: nexusLogger,
    });
    started.push(() => source.close());
    const nexus = await createNexus(nexusConfig, {
      source,
      logger: nexusLogger,
      custodyFactory: createCustody,
    });
    started.push(() => nexus.close());
    const address = await nexus.listen();
    let closing: Promise<void> | undefined;
    return {
      issuer,
      nexus,
      nexusConfig,
      nexusUrl: `https://127.0.0.1:${String(address.port)}`,
      close: () => (closing ??= undo()),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

function userName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}
