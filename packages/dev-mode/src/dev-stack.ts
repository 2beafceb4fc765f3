/**
 * The dev-mode stack: the dev identity issuer and Nexus in this one process and, with a SQLite
 * data directory, three keepers and the root-key ceremony too. Each is started through its
 * package's own exported start function and configured by its own configuration loader from an
 * environment composed here, so dev mode runs the same code as `spike-dev-identity`,
 * `spike-nexus`, `spike-keeper` and `spike-bootstrap` and has no configuration rules of its own.
 */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@spike-ts/core';
import {
  defaultIdentities,
  startDevIssuer,
  DEFAULT_TRUST_DOMAIN,
  type DevIdentitySpec,
  type DevIssuer,
} from '@spike-ts/dev-identity';
import { createX509Source, type X509Source } from '@spike-ts/identity';
import { createKeeperServer, loadKeeperConfig } from '@spike-ts/keeper';
import { createCustody, createNexus, loadConfig, type Nexus, type NexusConfig } from '@spike-ts/nexus';
import type { Env } from '@spike-ts/settings';
import { provideRootKey } from './root-key.ts';

/** Keepers started with a data directory, and how many of their shares rebuild the root key. */
export const DEV_KEEPERS = 3;
export const DEV_THRESHOLD = 2;

/**
 * Where Nexus keeps secrets: SPIKE's memory backend (no root key, no keepers), or SQLite in
 * `<dataDir>/nexus` with in-process keepers and the recovery files in `<dataDir>/recovery`.
 */
export type DevStore = { readonly kind: 'memory' } | { readonly kind: 'sqlite'; readonly dataDir: string };

export interface DevStackOptions {
  /** Nexus's API port on 127.0.0.1 (0: any free port). */
  readonly port: number;
  /** Directory of the Workload API sockets. */
  readonly socketDir: string;
  /** Where the dev CA lives. */
  readonly identityStateDir: string;
  readonly store: DevStore;
  /** One progress line for the developer (start-up steps of the SQLite mode). */
  readonly progress?: (line: string) => void;
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
  readonly store: DevStore;
  /** The keepers' URLs (none with the memory store). */
  readonly keeperUrls: readonly string[];
  /** How the root key came to be (undefined with the memory store). */
  readonly rootKey: 'bootstrapped' | 'restored' | undefined;
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
  'SPIKE_NEXUS_SHAMIR_SHARES',
  'SPIKE_NEXUS_SHAMIR_THRESHOLD',
  'SPIKE_NEXUS_DATA_DIR',
  'SPIKE_NEXUS_API_URL',
  'SPIKE_PILOT_RECOVERY_DIR',
  'SPIKE_BOOTSTRAP_FORCE',
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

/**
 * Starts the issuer, the keepers (SQLite only), Nexus, and gives Nexus its root key (SQLite
 * only); undoes what started when a step fails.
 */
export async function startDevStack(opts: DevStackOptions): Promise<DevStack> {
  const { logger, store } = opts;
  const progress = opts.progress ?? (() => undefined);
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
    const keeperUrls = store.kind === 'sqlite' ? await startKeepers(opts, issuer, started) : [];
    const custody = {
      SPIKE_NEXUS_KEEPER_PEERS: keeperUrls.join(','),
      SPIKE_NEXUS_SHAMIR_SHARES: String(DEV_KEEPERS),
      SPIKE_NEXUS_SHAMIR_THRESHOLD: String(DEV_THRESHOLD),
    };
    const nexusEnv = componentEnv(
      opts.env,
      issuer.endpointFor('nexus'),
      {
        SPIKE_NEXUS_TLS_PORT: `127.0.0.1:${String(opts.port)}`,
        ...(store.kind === 'memory'
          ? { SPIKE_NEXUS_BACKEND_STORE: 'memory' }
          : {
              SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
              SPIKE_NEXUS_DATA_DIR: join(store.dataDir, 'nexus'),
              ...custody,
            }),
      },
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
    const nexusUrl = `https://127.0.0.1:${String(address.port)}`;

    const rootKey =
      store.kind === 'memory'
        ? undefined
        : await provideRootKey({
            recoveryParent: join(store.dataDir, 'recovery'),
            nexusUrl,
            threshold: DEV_THRESHOLD,
            endpointFor: (name) => issuer.endpointFor(name),
            bootstrapEnv: componentEnv(opts.env, issuer.endpointFor('bootstrap'), {
              ...custody,
              SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
              SPIKE_NEXUS_API_URL: nexusUrl,
            }),
            isReady: () => nexus.state.isReady(),
            isInitialized: () => nexus.store.isInitialized(),
            progress,
            logger,
          });
    let closing: Promise<void> | undefined;
    return {
      issuer,
      nexus,
      nexusConfig,
      nexusUrl,
      store,
      keeperUrls,
      rootKey,
      close: () => (closing ??= undo()),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** Starts the keepers on free 127.0.0.1 ports, sharing the keeper identity; returns their URLs. */
async function startKeepers(
  opts: DevStackOptions,
  issuer: DevIssuer,
  started: Array<() => Promise<void>>,
): Promise<string[]> {
  const env = componentEnv(opts.env, issuer.endpointFor('keeper'), { SPIKE_KEEPER_TLS_PORT: '127.0.0.1:0' });
  const config = loadKeeperConfig(env);
  const logger = opts.logger.child({ component: 'keeper' });
  const source = await createX509Source({ endpoint: issuer.endpointFor('keeper'), env, logger });
  started.push(() => source.close());
  const urls: string[] = [];
  for (let i = 1; i <= DEV_KEEPERS; i++) {
    const keeper = createKeeperServer({
      source,
      trustRoots: config.trustRoots,
      logger: logger.child({ keeper: i }),
      headersTimeoutMs: config.headersTimeoutMs,
    });
    started.push(() => keeper.close());
    const address = await keeper.listen(config.port, config.host);
    urls.push(`https://127.0.0.1:${String(address.port)}`);
  }
  return urls;
}

function userName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}
